/** Runs the built CLI's local service as a child process, so tests can SIGKILL it like a crash would. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LOCAL_CREDENTIALS } from '../../src/local/service.js';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js');

export interface SpawnedService {
  endpoint: string;
  credentials: typeof DEFAULT_LOCAL_CREDENTIALS;
  child: ChildProcess;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnLocalService(dataDir: string, extraArgs: string[] = []): Promise<SpawnedService> {
  const child = spawn(process.execPath, [CLI, 'local', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HEALTHIMAGING_LOCAL_ACCESS_KEY_ID: '', HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY: '' },
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local service did not start: ${err}`)), 60_000);
    child.stderr!.on('data', () => {
      const m = /endpoint: (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local service exited with ${code}: ${err}`));
    });
  });
  return {
    endpoint,
    credentials: DEFAULT_LOCAL_CREDENTIALS,
    child,
    stderr: () => err,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}
