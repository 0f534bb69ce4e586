/** Starts the real local service on a temp directory and gives tests a real AWS SDK client for it. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { type LocalService, type LocalServiceOptions, startLocalService } from '../../src/local/service.js';

export const REGION = 'us-east-1';

export function tempDir(prefix = 'himcp-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function sdkClient(service: Pick<LocalService, 'endpoint' | 'credentials'>, overrides: Partial<ConstructorParameters<typeof MedicalImagingClient>[0]> = {}) {
  return new MedicalImagingClient({
    region: REGION,
    endpoint: service.endpoint,
    credentials: service.credentials,
    // Data-plane commands carry the host prefix `runtime-`; a local endpoint has no such host.
    disableHostPrefix: true,
    ...overrides,
  });
}

export interface TestService {
  service: LocalService;
  client: MedicalImagingClient;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestService(options: Partial<LocalServiceOptions> = {}): Promise<TestService> {
  const dataDir = options.dataDir ?? tempDir();
  const service = await startLocalService({ transitionDelayMs: 20, durable: false, log: () => undefined, ...options, dataDir });
  const client = sdkClient(service);
  return {
    service,
    client,
    dataDir,
    async stop() {
      client.destroy();
      await service.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until `done` holds for its result, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
