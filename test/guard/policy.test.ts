/**
 * What a configuration exposes, as tools/list shows it to a real MCP client: read-only by default against AWS,
 * --allow-write, --read-only winning, each toolset, --tools, --exclude-tools, deterministic order; and what calling a
 * hidden tool does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { describeGuard, selectTools } from '../../src/guard/policy.js';
import { instructions } from '../../src/server.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { TOOLSETS } from '../../src/tools/types.js';
import { startTestService, type TestService } from '../helpers/local.js';
import { listedTools } from '../helpers/tool-listing.js';
import { demoCt, startGuardServer, textOf, versionOf } from './harness.js';

const names = async (flags: Record<string, string | boolean>) => (await listedTools(flags)).map((t) => t.name);
const catalogue = (keep: (tool: (typeof ALL_TOOLS)[number]) => boolean) => ALL_TOOLS.filter(keep).map((t) => t.name);
const READS = catalogue((t) => t.annotations.readOnlyHint);
const config = (flags: Record<string, string | boolean>) => loadConfig({ backend: 'aws', region: 'us-east-1', ...flags }, {});

describe('modes', () => {
  it('read-only is the default against AWS: no write tool is listed', async () => {
    const tools = await listedTools({});
    expect(tools.map((t) => t.name)).toEqual(READS);
    for (const tool of tools) expect(tool.annotations?.readOnlyHint, tool.name).toBe(true);
  });

  it('--allow-write lists every tool; the local backend (demo data) allows writes by default', async () => {
    expect(await names({ allowWrite: true })).toEqual(catalogue(() => true));
    expect(await names({ backend: 'local' })).toEqual(catalogue(() => true));
    expect(await names({ backend: 'local', allowWrite: 'false' })).toEqual(READS);
  });

  it('--read-only wins over --allow-write and over the local default', async () => {
    expect(await names({ allowWrite: true, readOnly: true })).toEqual(READS);
    expect(await names({ backend: 'local', readOnly: true })).toEqual(READS);
    // Nothing left to list: the server then declares no tools at all, and the operator is warned.
    expect(selectTools(ALL_TOOLS, config({ allowWrite: true, readOnly: true, toolsets: 'delete' }))).toEqual([]);
    expect(describeGuard(ALL_TOOLS, config({ allowWrite: true, readOnly: true, toolsets: 'delete' })).warnings).toEqual([
      'No tool is exposed: check --toolsets, --tools and --exclude-tools (and --read-only, which hides every write tool).',
    ]);
  });
});

describe('selection', () => {
  it.each(TOOLSETS)('--toolsets %s exposes exactly that toolset (its reads only, while read-only)', async (toolset) => {
    expect(await names({ allowWrite: true, toolsets: toolset })).toEqual(catalogue((t) => t.toolset === toolset));
    const reads = catalogue((t) => t.toolset === toolset && t.annotations.readOnlyHint);
    expect(selectTools(ALL_TOOLS, config({ toolsets: toolset })).map((t) => t.name)).toEqual(reads);
    if (reads.length) expect(await names({ toolsets: toolset })).toEqual(reads);
  });

  it('--toolsets all is the default', async () => {
    expect(await names({ allowWrite: true, toolsets: 'all' })).toEqual(await names({ allowWrite: true }));
  });

  it('--tools alone exposes just those tools, in catalogue order whatever the order of the flag', async () => {
    expect(await names({ allowWrite: true, tools: 'tag_resource,get_image_set,list_datastores' })).toEqual(['list_datastores', 'get_image_set', 'tag_resource']);
  });

  it('--toolsets and --tools add up; --exclude-tools wins over both', async () => {
    expect(await names({ allowWrite: true, toolsets: 'tags', tools: 'get_image_set' })).toEqual(['get_image_set', 'list_tags_for_resource', 'tag_resource', 'untag_resource']);
    expect(await names({ allowWrite: true, toolsets: 'tags', tools: 'get_image_set', excludeTools: 'untag_resource,get_image_set' })).toEqual(['list_tags_for_resource', 'tag_resource']);
    expect(await names({ allowWrite: true, excludeTools: 'delete_image_set,delete_datastore' })).toEqual(catalogue((t) => t.toolset !== 'delete'));
  });

  it('tools/list is the same for the same configuration, whatever the order of the flags', async () => {
    const a = await listedTools({ allowWrite: true, toolsets: 'tags,edit,image_sets' });
    const b = await listedTools({ allowWrite: true, toolsets: 'image_sets,edit,tags' });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('read-only hides a write tool even when --tools names it, and says so at startup', async () => {
    expect(await names({ tools: 'delete_image_set,get_image_set' })).toEqual(['get_image_set']);
    const { summary, warnings } = describeGuard(ALL_TOOLS, config({ tools: 'delete_image_set,get_image_set' }));
    expect(summary).toBe('1 tool, read-only (--allow-write enables changes)');
    expect(warnings).toEqual(['--tools names delete_image_set, which is hidden (the server is read-only).']);
  });

  it('unknown tool and toolset names are configuration errors naming the valid ones', () => {
    expect(() => config({ toolsets: 'images' })).toThrow(ConfigError);
    expect(() => config({ toolsets: 'images' })).toThrow(/--toolsets \(HEALTHIMAGING_MCP_TOOLSETS\): unknown toolset 'images'; valid: all, datastores, image_sets, import_jobs, edit, delete, tags/);
    expect(() => config({ tools: 'get_image_set,drop_everything' })).toThrow(/--tools .*unknown tool 'drop_everything'; valid: list_datastores, get_datastore/);
    expect(() => config({ excludeTools: 'nope' })).toThrow(/--exclude-tools .*unknown tool 'nope'/);
    expect(() => config({ confirmMode: 'ask' })).toThrow(/--confirm-mode/);
    expect(() => config({ confirmTimeoutSeconds: '600' })).toThrow(/--confirm-timeout-seconds/);
  });
});

describe('schemas per confirmation mode', () => {
  it('confirmation_token is declared only with --confirm-mode token, and only on guarded tools', async () => {
    const tokenFields = (tools: Awaited<ReturnType<typeof listedTools>>) => tools.filter((t) => 'confirmation_token' in (t.inputSchema.properties ?? {})).map((t) => t.name);
    expect(tokenFields(await listedTools({ allowWrite: true }))).toEqual([]);
    expect(tokenFields(await listedTools({ allowWrite: true, confirmMode: 'none' }))).toEqual([]);
    expect(tokenFields(await listedTools({ allowWrite: true, confirmMode: 'token' }))).toEqual(catalogue((t) => t.guard !== undefined));
    expect(catalogue((t) => t.guard !== undefined)).toEqual(['delete_datastore', 'update_image_set_metadata', 'copy_image_set', 'delete_image_set', 'untag_resource']);
  });

  it('guarded tools say in their output whether anything changed', async () => {
    for (const tool of await listedTools({ allowWrite: true })) {
      const guarded = ALL_TOOLS.find((t) => t.name === tool.name)!.guard !== undefined;
      expect((tool.outputSchema?.required ?? []).includes('outcome'), tool.name).toBe(guarded);
    }
  });
});

describe('startup notes', () => {
  it('summarise the guard and warn about settings that weaken it', () => {
    expect(describeGuard(ALL_TOOLS, config({ allowWrite: true }))).toEqual({
      summary: '27 tools, 10 of them write; destructive actions need confirmation in a client dialog, else they are refused (--confirm-mode elicit)',
      warnings: [],
    });
    const none = describeGuard(ALL_TOOLS, config({ allowWrite: true, confirmMode: 'none' }));
    expect(none.warnings).toEqual([expect.stringMatching(/^--confirm-mode none: deletions, untagging, .* run without anyone confirming them/)]);
    const token = describeGuard(ALL_TOOLS, config({ allowWrite: true, confirmMode: 'token' }));
    expect(token.warnings).toEqual([expect.stringMatching(/tokens add a preview step, not human consent/)]);
    expect(describeGuard(ALL_TOOLS, config({ confirmMode: 'none' })).warnings).toEqual([]);
  });
});

describe('server instructions', () => {
  it('tell the model what this configuration allows and how confirmations work', () => {
    expect(instructions(config({}), 'x')).toContain('The server is read-only');
    expect(instructions(config({ allowWrite: true }), 'x')).toContain("need the user's confirmation in a dialog of the client");
    expect(instructions(config({ allowWrite: true, confirmMode: 'token' }), 'x')).toContain('pass the token, with the same arguments, only once they agree');
    expect(instructions(config({ allowWrite: true, confirmMode: 'none' }), 'x')).not.toContain('confirmation');
    expect(instructions(config({ datastoreIds: 'a'.repeat(32) }), 'x')).toContain(`Only these datastores may be used: ${'a'.repeat(32)}.`);
  });
});

describe('calling a tool that is not exposed', () => {
  let local: TestService;
  beforeAll(async () => {
    local = await startTestService({ seedDemo: true });
  });
  afterAll(async () => local.stop());

  it.each([
    ['read-only', { readOnly: true, allowWrite: true }],
    ['excluded', { allowWrite: true, confirmMode: 'none', excludeTools: 'delete_image_set' }],
    ['not in the selected toolsets', { allowWrite: true, confirmMode: 'none', toolsets: 'image_sets,edit' }],
  ] as const)('fails as an unknown tool when %s, and changes nothing', async (_why, flags) => {
    const server = await startGuardServer('in-memory', local, flags);
    const client = await server.connect();
    const ds = local.service.demoDatastoreId!;
    const ct = await demoCt(local.client, ds);
    const r = await client.call('delete_image_set', { datastore_id: ds, image_set_id: ct });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/Tool delete_image_set not found/);
    expect(await versionOf(local.client, ds, ct)).toBe('1');
    expect(server.audit).toEqual([]);
    await client.close();
    await server.close();
  });
});
