/**
 * The built binary refuses to expose MCP off loopback without a bearer token. (The 401 with a Bearer challenge,
 * Host/Origin checks, body limits, idle expiry and the absence of CORS are tested on the transport itself in
 * test/transports/http.test.ts, bound to loopback: tests never listen on other interfaces.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/local.js';
import { CLI } from '../helpers/spawn.js';

const dir = tempDir('himcp-exposure-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string> = {}) {
  const { HEALTHIMAGING_MCP_AUTH_TOKEN: _unset, ...rest } = process.env;
  const child = spawn(process.execPath, [CLI, '--transport', 'http', '--port', '0', '--data-dir', dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...rest, ...env } });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return {
    child,
    stderr: () => stderr,
    exit: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
    url: new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', () => {
        const m = /listening at (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.once('exit', () => reject(new Error(`exited: ${stderr}`)));
    }),
  };
}

describe('exposure off loopback', () => {
  it('refuses to start on 0.0.0.0 without HEALTHIMAGING_MCP_AUTH_TOKEN, saying what to do', async () => {
    const server = run(['--host', '0.0.0.0']);
    server.url.catch(() => undefined);
    expect(await server.exit).not.toBe(0);
    expect(server.stderr()).toMatch(/HEALTHIMAGING_MCP_AUTH_TOKEN/);
  });
});
