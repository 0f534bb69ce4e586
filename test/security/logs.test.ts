/**
 * Logs leak nothing: the built binary runs over HTTP with a bearer token, canary credentials and an audit log file;
 * a client searches by patient, reads metadata, writes PHI values into an image set (applied, refused and failed
 * writes), sends invalid calls full of PHI and a wrong token. Neither stderr nor the audit log may contain the token,
 * the wrong token, a secret or access key, or any of the PHI values involved.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/local.js';
import { CLI } from '../helpers/spawn.js';

const TOKEN = 'tok-CANARY-7f3c9a1e5b2d48e6a0c4';
const WRONG_TOKEN = 'tok-TYPO-CANARY-1b2c3d4e5f';
const LOCAL_KEY_ID = 'AKIACANARYLOCALKEY01';
const LOCAL_SECRET = 'CanaryLocalSecret/9f8e7d6c5b4a3210zyxw';
const AWS_SECRET = 'CanaryAwsSecret/0a1b2c3d4e5f6g7h8i9j';
const AWS_SESSION = 'CanarySessionToken0123456789abcdef';
const PHI = ['DEMO^CHEST^CT', 'DEMO-0001', 'CANARY^APPLIED^NAME', 'CANARY^REFUSED^NAME', 'CANARY^INVALID^NAME', 'CANARY-MRN-4711', '19450317'];

const dir = tempDir('himcp-logs-');
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('logs', () => {
  it('hold no credentials, tokens or PHI values, in stderr or the audit log', async () => {
    const auditFile = path.join(dir, 'audit.jsonl');
    child = spawn(process.execPath, [CLI, '--transport', 'http', '--port', '0', '--data-dir', path.join(dir, 'data'), '--audit-log', auditFile, '--confirm-mode', 'none'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        HEALTHIMAGING_MCP_AUTH_TOKEN: TOKEN,
        HEALTHIMAGING_LOCAL_ACCESS_KEY_ID: LOCAL_KEY_ID,
        HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY: LOCAL_SECRET,
        AWS_ACCESS_KEY_ID: 'AKIACANARYAWSKEY0001',
        AWS_SECRET_ACCESS_KEY: AWS_SECRET,
        AWS_SESSION_TOKEN: AWS_SESSION,
      },
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL in: ${stderr}`)), 60_000);
      child!.stderr!.on('data', () => {
        const m = /listening at (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child!.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });

    // A wrong token is refused, and logged without the token itself.
    const refused = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${WRONG_TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);

    const client = new Client({ name: 'logs-test', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    const call = (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
    const ds = ((await call('list_datastores', {})).structuredContent as { datastores: Array<{ datastore_id: string }> }).datastores[0]!.datastore_id;
    const found = await call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0001' });
    const set = (found.structuredContent as { image_sets: Array<{ image_set_id: string; version: number }> }).image_sets[0]!;
    const summary = await call('get_image_set_metadata', { datastore_id: ds, image_set_id: set.image_set_id });
    // The client does see PHI (that is what it asked for); the logs must not.
    expect(JSON.stringify(summary)).toContain('DEMO^CHEST^CT');

    const applied = await call('update_image_set_metadata', {
      datastore_id: ds,
      image_set_id: set.image_set_id,
      latest_version_id: String(set.version),
      updates: { Patient: { DICOM: { PatientName: 'CANARY^APPLIED^NAME', PatientID: 'CANARY-MRN-4711', PatientBirthDate: '19450317' } } },
    });
    expect(applied.isError, JSON.stringify(applied)).toBeFalsy();
    // A stale version: refused before anything is written.
    const stale = await call('update_image_set_metadata', { datastore_id: ds, image_set_id: set.image_set_id, latest_version_id: '1', updates: { Patient: { DICOM: { PatientName: 'CANARY^REFUSED^NAME' } } } });
    expect(stale.isError).toBe(true);
    // Invalid input with PHI in it, and a PHI value where an ID belongs.
    const invalid = await call('update_image_set_metadata', { datastore_id: ds, image_set_id: 'CANARY^INVALID^NAME', latest_version_id: 'x', updates: { Patient: { DICOM: { PatientName: 'CANARY^INVALID^NAME' } } } });
    expect(invalid.isError).toBe(true);
    await call('search_image_sets', { datastore_id: ds, patient_id: 'CANARY-MRN-4711' });
    await call('tag_resource', { resource_arn: `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}`, tags: { note: 'reviewed' } });
    await client.close();

    child.kill('SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
    const audit = readFileSync(auditFile, 'utf8');
    // The audit log did record the writes (so the check below is over real content).
    expect(audit.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3);
    expect(audit).toContain('"outcome":"applied"');
    expect(stderr).toContain('rejected');
    expect(stdout).toBe('');
    for (const [where, text] of [['stderr', stderr], ['audit log', audit]] as const) {
      for (const secret of [TOKEN, WRONG_TOKEN, LOCAL_KEY_ID, LOCAL_SECRET, AWS_SECRET, AWS_SESSION, 'AKIACANARYAWSKEY0001', ...PHI]) {
        expect(text.includes(secret), `${where} contains ${secret}`).toBe(false);
      }
    }
  }, 120_000);
});
