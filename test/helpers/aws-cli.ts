/** Runs the real AWS CLI v1 against the local service. */
import { execFile, execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalService } from '../../src/local/service.js';
import { REGION } from './local.js';

const run = promisify(execFile);

function hasMedicalImaging(): boolean {
  try {
    execFileSync('aws', ['medical-imaging', 'help'], { stdio: 'ignore', timeout: 30_000, env: { ...process.env, PAGER: 'cat' } });
    return true;
  } catch {
    return false;
  }
}

export const awsCliAvailable = hasMedicalImaging();
if (!awsCliAvailable) console.warn('[skip] AWS CLI v1 with `medical-imaging` is not on PATH: the AWS CLI interop tests are skipped');

export async function aws(service: LocalService, args: string[], cwd = os.tmpdir()): Promise<string> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: service.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: service.credentials.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    // Data-plane operations would otherwise go to runtime-127.0.0.1.
    AWS_DISABLE_HOST_PREFIX_INJECTION: 'true',
    // Keep the developer's own AWS configuration out of the test.
    AWS_CONFIG_FILE: path.join(cwd, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'no-aws-credentials'),
    AWS_PROFILE: '',
    AWS_SESSION_TOKEN: '',
  };
  delete (env as Record<string, string | undefined>).AWS_PROFILE;
  delete (env as Record<string, string | undefined>).AWS_SESSION_TOKEN;
  try {
    const { stdout } = await run('aws', ['--endpoint-url', service.endpoint, '--output', 'json', 'medical-imaging', ...args], { env, cwd, timeout: 60_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`aws ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}
