/**
 * The package as users get it: `npm pack`, installed into an empty directory with production dependencies only, then
 * `npx healthimaging-mcp --help` and a real stdio MCP session on the embedded local service. Nothing of the
 * repository (its node_modules, src/, dev dependencies) is reachable from there, so a runtime import of a dev
 * dependency, or a file missing from `files`, fails here.
 *
 * The install prefers the local npm cache and falls back to the registry.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/local.js';

const exec = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};

/** An environment without the repository's paths: no NODE_PATH, no npm workspace settings of the caller. */
function cleanEnv(home: string): NodeJS.ProcessEnv {
  const realHome = process.env.HOME ?? home;
  // npm keeps the user's cache and settings (registry, CA file, proxy): installs must work where the tests run.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, npm_config_cache: path.join(realHome, '.npm') };
  if (existsSync(path.join(realHome, '.npmrc'))) env.npm_config_userconfig = path.join(realHome, '.npmrc');
  for (const key of ['npm_config_registry', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']) {
    if (process.env[key]) env[key] = process.env[key];
  }
  return env;
}

describe('the npm package', () => {
  let dir: string;
  let packed: string[];
  let app: string;
  let home: string;

  beforeAll(async () => {
    dir = tempDir('himcp-pack-');
    app = path.join(dir, 'app');
    home = path.join(dir, 'home');
    mkdirSync(app);
    mkdirSync(home);
    // --ignore-scripts: pack the dist/ the test run built, rather than rebuilding it under the other tests' feet.
    const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info!.files.map((f) => f.path);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', private: true }));
    await exec('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(dir, info!.filename)], {
      cwd: app,
      env: cleanEnv(home),
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  }, 180_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds what runs and nothing else: the compiled JavaScript, the README and package.json', () => {
    expect(packed).toContain('package.json');
    expect(packed).toContain('README.md');
    expect(packed).toContain('dist/cli.js');
    const unexpected = packed.filter((p) => !/^dist\/.+\.js$/.test(p) && !['package.json', 'README.md', 'LICENSE'].includes(p));
    expect(unexpected).toEqual([]);
  });

  it('installs without any dev dependency', () => {
    const modules = path.join(app, 'node_modules');
    expect(existsSync(path.join(modules, pkg.name, 'dist', 'cli.js'))).toBe(true);
    for (const name of Object.keys(pkg.dependencies)) expect(existsSync(path.join(modules, name)), name).toBe(true);
    for (const name of Object.keys(pkg.devDependencies)) expect(existsSync(path.join(modules, name)), `${name} (a dev dependency) was installed`).toBe(false);
  });

  it('runs `npx healthimaging-mcp --help`', async () => {
    const { stderr } = await exec('npx', ['--offline', 'healthimaging-mcp', '--help'], { cwd: app, env: cleanEnv(home), timeout: 60_000 });
    expect(stderr).toContain(`healthimaging-mcp ${pkg.version}: an MCP server for AWS HealthImaging`);
    expect(stderr).toContain('--backend <local|aws>');
  });

  it('serves a real stdio MCP session on the embedded local service: initialize, tools/list, tool calls that decode a frame', async () => {
    const dataDir = path.join(dir, 'data');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(app, 'node_modules', '.bin', 'healthimaging-mcp'), '--data-dir', dataDir],
      cwd: app,
      env: cleanEnv(home) as Record<string, string>,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'tarball-test', version: '0' });
    try {
      await client.connect(transport);
      expect(client.getServerVersion()).toMatchObject({ name: pkg.name, version: pkg.version });

      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_datastores', 'search_image_sets', 'get_image_frame', 'update_image_set_metadata']));

      const call = async (name: string, args: Record<string, unknown>) => {
        const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
        expect(result.isError, `${name}: ${JSON.stringify(result.content)}\n${stderr}`).toBeFalsy();
        return result;
      };
      const listed = (await call('list_datastores', {})).structuredContent as { datastores: Array<{ datastore_id: string; name: string }> };
      const demo = listed.datastores.find((d) => d.name === 'demo')!;
      expect(demo).toBeDefined();
      const found = (await call('search_image_sets', { datastore_id: demo.datastore_id, patient_id: 'DEMO-0001' })).structuredContent as { image_sets: Array<{ image_set_id: string }> };
      const imageSetId = found.image_sets[0]!.image_set_id;
      const summary = (await call('get_image_set_metadata', { datastore_id: demo.datastore_id, image_set_id: imageSetId, max_instances: 1 })).structuredContent as {
        instances: Array<{ frame_ids: string[] }>;
      };
      // Decoding HTJ2K (a WebAssembly codec) and encoding PNG use runtime dependencies a dev install would hide.
      const frame = await call('get_image_frame', { datastore_id: demo.datastore_id, image_set_id: imageSetId, image_frame_id: summary.instances[0]!.frame_ids[0]!, max_size: 64 });
      const image = frame.content.find((c) => c.type === 'image') as { mimeType: string; data: string } | undefined;
      expect(image?.mimeType).toBe('image/png');
      expect((frame.structuredContent as { checksum_ok?: boolean }).checksum_ok).toBe(true);
    } finally {
      await client.close();
    }
  });
});
