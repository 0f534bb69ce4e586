/**
 * The built binary as users run it: over stdio (spawned by a real MCP client), over Streamable HTTP with two
 * concurrent sessions, and driven by the MCP Inspector CLI, an independent client.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/local.js';
import { CLI } from '../helpers/spawn.js';

const run = promisify(execFile);
const INSPECTOR = path.resolve(path.dirname(CLI), '../node_modules/.bin/mcp-inspector');
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const dataDir = () => {
  const dir = tempDir('himcp-mcp-');
  dirs.push(dir);
  return dir;
};
const structured = <T>(r: unknown) => (r as CallToolResult).structuredContent as T;

async function demoDatastore(client: Client): Promise<string> {
  const list = await client.callTool({ name: 'list_datastores', arguments: {} });
  return structured<{ datastores: Array<{ datastore_id: string }> }>(list).datastores[0]!.datastore_id;
}

describe('stdio', () => {
  it('the built binary serves MCP on stdout and logs only to stderr', async () => {
    const stderr: string[] = [];
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, '--data-dir', dataDir()], stderr: 'pipe' });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const client = new Client({ name: 'stdio-test', version: '0' });
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBe('healthimaging-mcp');
    expect(client.getInstructions()).toContain('search_image_sets');
    const { tools } = await client.listTools();
    // The local backend (demo data) enables writes by default, behind confirmations.
    expect(tools.length).toBe(27);
    const ds = await demoDatastore(client);
    const found = await client.callTool({ name: 'search_image_sets', arguments: { datastore_id: ds, patient_id: 'DEMO-0002' } });
    expect(structured<{ image_sets: Array<{ modality: string }> }>(found).image_sets[0]!.modality).toBe('MR');
    await client.close();
    expect(stderr.join('')).toContain('on stdio');
  });
});

describe('Streamable HTTP', () => {
  it('serves two concurrent sessions from one process', async () => {
    const child = spawn(process.execPath, [CLI, '--transport', 'http', '--port', '0', '--data-dir', dataDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL: ${err}`)), 60_000);
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /listening at (http:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    expect(err).toContain('claude mcp add --transport http healthimaging');
    const connect = async () => {
      const client = new Client({ name: 'http-test', version: '0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      return client;
    };
    const [a, b] = await Promise.all([connect(), connect()]);
    const ds = await demoDatastore(a);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).callTool({ name: 'search_image_sets', arguments: { datastore_id: ds } })),
    );
    for (const r of results) expect(structured<{ image_sets: unknown[] }>(r).image_sets).toHaveLength(3);
    await Promise.all([a.close(), b.close()]);
    child.kill('SIGTERM');
  });
});

describe('MCP Inspector CLI', () => {
  it('lists the tools and calls search_image_sets', async () => {
    const env = { ...process.env, HEALTHIMAGING_MCP_DATA_DIR: dataDir() };
    const inspect = async (...args: string[]) => {
      const { stdout } = await run(INSPECTOR, ['--cli', process.execPath, CLI, ...args], { env, timeout: 120_000 });
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    const listed = (await inspect('--method', 'tools/list')) as { tools: Array<{ name: string }> };
    expect(listed.tools.map((t) => t.name)).toContain('search_image_sets');
    const datastores = (await inspect('--method', 'tools/call', '--tool-name', 'list_datastores')) as CallToolResult;
    const ds = structured<{ datastores: Array<{ datastore_id: string }> }>(datastores).datastores[0]!.datastore_id;
    const found = (await inspect('--method', 'tools/call', '--tool-name', 'search_image_sets', '--tool-arg', `datastore_id=${ds}`)) as CallToolResult;
    expect(found.isError).toBeFalsy();
    expect(structured<{ image_sets: unknown[] }>(found).image_sets).toHaveLength(3);
  });
});
