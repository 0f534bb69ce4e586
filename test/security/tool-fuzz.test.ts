/**
 * Tool input fuzzing: for every tool tools/list shows (so tools added later are covered without touching this file),
 * fast-check generates at least 500 invalid and edge inputs from the tool's own input schema: wrong types, huge
 * strings, unicode, injection-looking strings, out-of-range numbers, missing fields, prototype-polluting keys. Each
 * input is built around the IDs of real targets, so a validation gap would reach real data. Every call must come back
 * as a well-formed MCP result with a readable message and no stack trace, the server must keep serving, and no
 * invalid call may write anything (the store is compared through the SDK before and after).
 */
import { GetImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { exposedInputShape } from '../../src/guard/policy.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';
import { storeSnapshot } from './store-snapshot.js';

const RUNS = Number(process.env.HEALTHIMAGING_FUZZ_RUNS ?? 500);
const SEED = Number(process.env.HEALTHIMAGING_FUZZ_SEED ?? Date.now() % 2 ** 31);

let h: McpHarness;
let tools: Tool[];
let before: unknown;
/** Real values for fields named like IDs, so that a mutated input still points at real data. */
const real: Record<string, string[]> = {};

beforeAll(async () => {
  // confirm-mode none: no confirmation dialog stands between an invalid input and the data; validation alone must.
  h = await connectMcp({ allowWrite: true, confirmMode: 'none' });
  tools = (await h.client.listTools()).tools;
  const ds = h.local.service.demoDatastoreId!;
  const found = await h.call('search_image_sets', { datastore_id: ds });
  const sets = (found.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets.map((s) => s.image_set_id);
  const meta = await h.local.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: sets[0] }));
  const doc = JSON.parse(gunzipSync(await meta.imageSetMetadataBlob!.transformToByteArray()).toString('utf8'));
  const series = Object.values(doc.Study.Series)[0] as { Instances: Record<string, { ImageFrames: Array<{ ID: string }> }> };
  const arn = `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}`;
  Object.assign(real, {
    datastore_id: [ds],
    image_set_id: sets,
    source_image_set_id: sets,
    destination_image_set_id: sets,
    image_frame_id: [Object.values(series.Instances)[0]!.ImageFrames[0]!.ID],
    resource_arn: [arn, `${arn}/imageset/${sets[0]}`],
    input_s3_uri: ['s3://fuzz-input/in/'],
    output_s3_uri: ['s3://fuzz-output/out/'],
    data_access_role_arn: ['arn:aws:iam::123456789012:role/Fuzz'],
  });
  before = await storeSnapshot(h.local.client);
  console.log(`tool fuzzing: ${RUNS} runs per tool, seed ${SEED} (HEALTHIMAGING_FUZZ_SEED=${SEED} replays it)`);
}, 120_000);
afterAll(async () => h?.close());

type JsonSchema = { type?: string | string[]; enum?: unknown[]; pattern?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; properties?: Record<string, JsonSchema>; required?: string[]; items?: JsonSchema };

const INJECTIONS = [
  '',
  ' ',
  '\u0000',
  '\r\n\r\nHTTP/1.1 200 OK',
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%252e%252e%252f',
  "'; DROP TABLE image_sets; --",
  '" OR "1"="1',
  '<script>alert(1)</script>',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '$(touch /tmp/pwned)',
  '`id`',
  's3://bucket/../../etc',
  'file:///etc/passwd',
  '\\\\server\\share\\x',
  'NaN',
  '-1',
  '1e9999',
  '0x10',
  '__proto__',
  'constructor',
  '\u202e\u0645\u0631\u062d\u0628\u0627',
  '🩻'.repeat(1000),
  'Ω'.repeat(10_000),
  'x'.repeat(1_000_000),
];

/** Values no schema field should accept as they are, or only as an edge. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(...INJECTIONS),
  fc.constantFrom<unknown>(null, true, false, 0, -0, -1, 0.5, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 31), Number.NaN, Number.POSITIVE_INFINITY, [], {}),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}')),
);

/** A value that satisfies the field's schema (when the test knows how), so that one mutation is the only defect. */
function plausible(name: string, schema: JsonSchema): fc.Arbitrary<unknown> {
  if (real[name]) return fc.constantFrom(...real[name]!);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  if (/version_id$/.test(name)) return fc.constantFrom('1', '2');
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
      return fc.integer({ min, max: Math.max(min, Math.min(schema.maximum ?? min + 10, min + 10)) });
    }
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.constant([]);
    case 'object':
      return fc.constant({});
    default:
      return fc.constantFrom('a', 'fuzz.name', '1.2.3');
  }
}

type Mutation = { kind: 'set'; field: string; value: unknown } | { kind: 'drop'; field: string } | { kind: 'empty' } | { kind: 'extra'; value: unknown };

function inputs(tool: Tool): fc.Arbitrary<Record<string, unknown>> {
  const schema = tool.inputSchema as JsonSchema;
  const props = Object.entries(schema.properties ?? {});
  const fields = props.map(([name]) => name);
  const base = fc.record(Object.fromEntries(props.map(([name, s]) => [name, plausible(name, s)])), { requiredKeys: schema.required ?? [] });
  const mutation: fc.Arbitrary<Mutation> = fields.length
    ? fc.oneof(
        { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), field: fc.constantFrom(...fields), value: hostile }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...fields) }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('extra' as const), value: hostile }) },
      )
    : fc.record({ kind: fc.constant('extra' as const), value: hostile });
  return fc.tuple(base, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([args, mutations]) => {
    let out: Record<string, unknown> = { ...args };
    for (const m of mutations) {
      if (m.kind === 'set') out[m.field] = m.value;
      else if (m.kind === 'drop') delete out[m.field];
      else if (m.kind === 'empty') out = {};
      else out['unexpected_field'] = m.value;
    }
    return out;
  });
}

describe('tool input fuzzing', () => {
  it('covers every listed tool', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS.map((t) => t.name).sort());
  });

  it('answers every invalid or edge input with a well-formed result, and writes nothing', async () => {
    const stats: Record<string, { invalid: number; edge: number }> = {};
    for (const tool of tools) {
      const definition = ALL_TOOLS.find((t) => t.name === tool.name)!;
      const validator = z.object(exposedInputShape(definition, h.config));
      const readOnly = tool.annotations?.readOnlyHint === true;
      const counts = (stats[tool.name] = { invalid: 0, edge: 0 });
      await fc.assert(
        fc.asyncProperty(inputs(tool), async (args) => {
          const valid = validator.safeParse(args).success;
          // A valid call to a write tool may rightly write; those are the guard tests' business, not fuzzing's.
          fc.pre(readOnly || !valid);
          if (valid) counts.edge++;
          else counts.invalid++;
          const result = await h.call(tool.name, args);
          expect(Array.isArray(result.content) && result.content.length > 0).toBe(true);
          const text = textOf(result);
          expect(typeof text).toBe('string');
          expect(text.length).toBeGreaterThan(0);
          // A readable message: bounded, no stack trace, never the whole hostile input echoed back.
          expect(text.length).toBeLessThan(20_000);
          expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
          if (!valid) expect(result.isError, `${tool.name} accepted ${JSON.stringify(args).slice(0, 300)}`).toBe(true);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, maxSkipsPerRun: 100 },
      );
    }
    console.log(`fuzzed calls per tool (invalid/edge): ${Object.entries(stats).map(([name, c]) => `${name} ${c.invalid}/${c.edge}`).join(', ')}`);
    for (const [name, c] of Object.entries(stats)) expect(c.invalid + c.edge, name).toBe(RUNS);
    // Still serving, nothing written, nothing polluted.
    const list = await h.call('list_datastores');
    expect(list.isError).toBeFalsy();
    expect(await storeSnapshot(h.local.client)).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(h.audit.filter((entry) => entry.outcome === 'applied')).toEqual([]);
  }, 600_000);
});
