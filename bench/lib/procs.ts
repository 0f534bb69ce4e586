/**
 * The processes a benchmark measures, each a real one: the local service and the MCP server over HTTP, both the
 * built CLI (dist/cli.js), so that their memory can be read from /proc and the bench's own work stays out of it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, spawnLocalService, type SpawnedService } from '../../test/helpers/spawn.js';

export const REGION = 'us-east-1';
export type { SpawnedService };

export function startLocal(dataDir: string): Promise<SpawnedService> {
  return spawnLocalService(dataDir);
}

export function sdkFor(service: Pick<SpawnedService, 'endpoint' | 'credentials'>): MedicalImagingClient {
  return new MedicalImagingClient({ region: REGION, endpoint: service.endpoint, credentials: service.credentials, disableHostPrefix: true });
}

export interface McpHttpServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The MCP server over Streamable HTTP, on the given HealthImaging endpoint. BENCH_NODE_ARGS adds Node flags to its
 * process, for profiling a case: `BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npx tsx bench/run.ts --cases 1`
 * (Node refuses --cpu-prof in NODE_OPTIONS).
 */
export async function startMcpHttp(local: Pick<SpawnedService, 'endpoint' | 'credentials'>, flags: string[] = []): Promise<McpHttpServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), CLI, '--transport', 'http', '--port', '0', '--backend', 'aws', '--endpoint-url', local.endpoint, '--region', REGION, ...flags],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey,
        AWS_SESSION_TOKEN: '',
        AWS_PROFILE: '',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        HEALTHIMAGING_MCP_AUTH_TOKEN: '',
      },
    },
  );
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`MCP server did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening at (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`MCP server exited with ${code}: ${err}`));
    });
  });
  // Keep draining stderr so the child never blocks on a full pipe.
  child.stderr!.resume();
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Resident set size and its peak (VmHWM) of a process, in bytes, from /proc. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets the process's peak RSS to its current RSS (Linux `clear_refs` 5), so a peak can be read per operation. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
