/**
 * The embedded HealthImaging-compatible service: one HTTP port serving the control plane, the data plane and
 * DICOMweb, with SigV4 verification and filesystem storage under `dataDir`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { activateDatastore, datastoreRoutes, finishDatastoreDeletion } from './api/datastores.js';
import { imageSetReadRoutes } from './api/image-sets.js';
import { finishPending, imageSetWriteRoutes } from './api/image-set-writes.js';
import { jobRoutes } from './api/jobs.js';
import { searchRoutes } from './api/search.js';
import { tagRoutes } from './api/tags.js';
import type { LocalServiceSettings, ServiceContext } from './api/context.js';
import { seedDemoData } from './demo.js';
import { DEFAULT_MAX_STORE_BYTES, dicomwebRoutes } from './dicomweb/routes.js';
import { createRequestListener, Router } from './http.js';
import { ImportRunner } from './imports.js';
import type { Credentials } from './sigv4.js';
import { Store } from './store/store.js';

/** Credentials the local service accepts when HEALTHIMAGING_LOCAL_ACCESS_KEY_ID / _SECRET_ACCESS_KEY are unset. */
export const DEFAULT_LOCAL_CREDENTIALS: Credentials = {
  accessKeyId: 'AKIAHEALTHIMAGINGLOCAL',
  secretAccessKey: 'healthimaging-local-secret-access-key',
};
export const DEFAULT_ACCOUNT_ID = '123456789012';

export interface LocalServiceOptions {
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  credentials?: Credentials;
  accountId?: string;
  /** Delay of asynchronous state transitions (default 200 ms). */
  transitionDelayMs?: number;
  seedDemo?: boolean;
  /** fsync every write (default true). */
  durable?: boolean;
  maxDatastores?: number;
  /** Requests processed at once before answering 429 ThrottlingException (default 256). */
  maxInFlightRequests?: number;
  /** Largest DICOMweb STOW-RS request body in bytes (default 1 GiB, HealthImaging's limit). */
  maxStoreBytes?: number;
  log?: (message: string) => void;
}

export interface LocalService {
  endpoint: string;
  port: number;
  credentials: Credentials;
  accountId: string;
  /** The demo datastore's ID when demo data was seeded (or found from an earlier run). */
  demoDatastoreId?: string;
  close(): Promise<void>;
}

export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials {
  return {
    accessKeyId: env.HEALTHIMAGING_LOCAL_ACCESS_KEY_ID || DEFAULT_LOCAL_CREDENTIALS.accessKeyId,
    secretAccessKey: env.HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY || DEFAULT_LOCAL_CREDENTIALS.secretAccessKey,
  };
}

export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const log = options.log ?? ((message: string) => process.stderr.write(`[local] ${message}\n`));
  const credentials = options.credentials ?? credentialsFromEnv();
  const dataDir = path.resolve(options.dataDir);
  const settings: LocalServiceSettings = {
    accountId: options.accountId ?? DEFAULT_ACCOUNT_ID,
    dataDir,
    s3Root: path.join(dataDir, 's3'),
    transitionDelayMs: options.transitionDelayMs ?? 200,
    maxDatastores: options.maxDatastores ?? 10,
    maxConcurrentImportJobs: 100,
  };
  const store = await Store.open(dataDir, { durable: options.durable ?? true });

  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  const service: ServiceContext = {
    store,
    settings,
    imports: { submit: () => undefined },
    log,
    later(fn) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        const task = fn()
          .catch((err: unknown) => log(`background transition failed: ${err instanceof Error ? err.stack : String(err)}`))
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      }, settings.transitionDelayMs);
      timers.add(timer);
    },
  };
  const imports = new ImportRunner(service);
  service.imports = imports;

  // Finish what a previous process left in flight.
  for (const datastore of store.datastores()) {
    if (datastore.datastoreStatus === 'CREATING') service.later(() => activateDatastore(service, datastore.datastoreId));
    if (datastore.datastoreStatus === 'DELETING') service.later(() => finishDatastoreDeletion(service, datastore.datastoreId));
  }
  for (const datastore of store.datastores()) {
    for (const record of store.imageSets(datastore.datastoreId)) {
      if (record.pending) service.later(() => finishPending(service, record.datastoreId, record.imageSetId));
    }
  }
  await imports.recover();

  const router = new Router();
  for (const route of [
    ...datastoreRoutes(service),
    ...tagRoutes(service),
    ...jobRoutes(service),
    ...imageSetReadRoutes(service),
    ...imageSetWriteRoutes(service),
    ...searchRoutes(service),
    ...dicomwebRoutes(service, { maxStoreBytes: options.maxStoreBytes ?? DEFAULT_MAX_STORE_BYTES }),
  ]) {
    router.add(route);
  }

  const server: Server = createServer(
    createRequestListener({ router, credentials, maxInFlight: options.maxInFlightRequests ?? 256, onError: (err, requestId) => log(`request ${requestId} failed: ${err instanceof Error ? err.stack : String(err)}`) }),
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const endpoint = `http://${host}:${address.port}`;

  let demoDatastoreId: string | undefined;
  if (options.seedDemo) demoDatastoreId = await seedDemoData(service);

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    port: address.port,
    credentials,
    accountId: settings.accountId,
    ...(demoDatastoreId && { demoDatastoreId }),
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        for (const timer of timers) clearTimeout(timer);
        await imports.close();
        await Promise.all(inFlight);
        await store.close();
      })();
      return closing;
    },
  };
}
