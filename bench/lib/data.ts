/**
 * Benchmark data, created through the local service as a user would (DICOM files imported by import jobs), and
 * cached under bench/.data/ between runs: the 10,000-image-set catalog takes minutes to build and seconds to reuse.
 * Generation runs the service in-process with fsync off, only to save time; the benchmarks then run a separate,
 * durable service process on the same directory.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateDatastoreCommand,
  GetDatastoreCommand,
  GetDICOMImportJobCommand,
  type MedicalImagingClient,
  StartDICOMImportJobCommand,
} from '@aws-sdk/client-medical-imaging';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { startLocalService } from '../../src/local/service.js';
import { putFiles, withAttributes } from '../../test/helpers/dicom-files.js';
import { ROLE_ARN } from '../../test/helpers/import.js';
import { sdkFor } from './procs.js';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = path.join(BENCH_DIR, '.data');

/** Bump when the generated data changes shape, so stale caches are rebuilt. */
const DATA_VERSION = 2;

export async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function createDatastore(client: MedicalImagingClient, name: string): Promise<string> {
  const { datastoreId } = await client.send(new CreateDatastoreCommand({ datastoreName: name }));
  await until(() => client.send(new GetDatastoreCommand({ datastoreId })), (r) => r.datastoreProperties?.datastoreStatus === 'ACTIVE', 30_000, 'datastore ACTIVE');
  return datastoreId!;
}

/** Writes the files under a fresh S3 prefix of `dataDir` and runs one import job over them; returns its duration. */
export async function importJob(client: MedicalImagingClient, dataDir: string, datastoreId: string, files: Record<string, Uint8Array>, timeoutMs = 600_000): Promise<number> {
  const prefix = randomUUID().slice(0, 8);
  const inputS3Uri = `s3://bench-input/${prefix}/`;
  await putFiles(dataDir, inputS3Uri, files);
  const t = performance.now();
  const started = await client.send(
    new StartDICOMImportJobCommand({ datastoreId, jobName: `bench-${prefix}`, dataAccessRoleArn: ROLE_ARN, inputS3Uri, outputS3Uri: `s3://bench-output/${prefix}/` }),
  );
  const done = await until(
    () => client.send(new GetDICOMImportJobCommand({ datastoreId, jobId: started.jobId })),
    (r) => r.jobProperties?.jobStatus === 'COMPLETED' || r.jobProperties?.jobStatus === 'FAILED',
    timeoutMs,
    'import job to end',
  );
  const elapsed = performance.now() - t;
  if (done.jobProperties?.jobStatus !== 'COMPLETED') throw new Error(`import job failed: ${done.jobProperties?.message}`);
  return elapsed;
}

/** A data directory built once by `build` and reused while its manifest exists. */
async function cached<M>(key: string, build: (dataDir: string, client: MedicalImagingClient) => Promise<M>, log: (m: string) => void): Promise<{ dataDir: string; manifest: M }> {
  const dataDir = path.join(CACHE_DIR, `${key}-v${DATA_VERSION}`);
  const manifestFile = path.join(dataDir, 'bench-manifest.json');
  if (existsSync(manifestFile)) return { dataDir, manifest: JSON.parse(await fs.readFile(manifestFile, 'utf8')) as M };
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.mkdir(dataDir, { recursive: true });
  log(`building ${key} in ${path.relative(process.cwd(), dataDir)} (cached for later runs)`);
  const service = await startLocalService({ dataDir, durable: false, transitionDelayMs: 10, log: () => undefined });
  const client = sdkFor(service);
  try {
    const manifest = await build(dataDir, client);
    // The import inputs are not needed once imported.
    await fs.rm(path.join(dataDir, 's3', 'bench-input'), { recursive: true, force: true });
    await fs.writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    return { dataDir, manifest };
  } finally {
    client.destroy();
    await service.close();
  }
}

export interface CatalogManifest {
  datastoreId: string;
  imageSets: number;
  patients: number;
  bigImageSetId: string;
  bigInstances: number;
}

/**
 * Text that makes an instance's metadata about 10,400 bytes (these 8,920 and about 1,500 of other attributes), so that
 * 5,000 instances make a 49.7 MiB document: the 50 MB, within the 50 MiB default of --max-metadata-bytes.
 */
const COMMENT = Array.from({ length: 240 }, (_, i) => `reading ${String(i).padStart(3, '0')}: no acute finding; synthetic`).join(' ').slice(0, 8920);

/**
 * A datastore with `imageSets` one-instance image sets (8×8 CT, patients BENCH-0 … BENCH-<patients-1>) and one
 * image set of `bigInstances` instances whose metadata document is ≈ 10 KB per instance.
 */
export function catalog(imageSets: number, bigInstances: number, log: (m: string) => void) {
  const patients = Math.max(1, Math.floor(imageSets / 5));
  return cached<CatalogManifest>(
    `catalog-${imageSets}-${bigInstances}`,
    async (dataDir, client) => {
      const datastoreId = await createDatastore(client, 'bench-catalog');
      const perJob = 5000;
      for (let start = 0; start < imageSets; start += perJob) {
        const files: Record<string, Uint8Array> = {};
        for (let i = start; i < Math.min(imageSets, start + perJob); i++) {
          const [p10] = syntheticCtSeries({ patientName: 'BENCH^CATALOG', patientId: `BENCH-${i % patients}`, slices: 1, rows: 8, columns: 8, seed: 100_000 + i, accessionNumber: `ACC${i}` });
          files[`${i}.dcm`] = p10!;
        }
        const ms = await importJob(client, dataDir, datastoreId, files);
        log(`  imported image sets ${start}…${Math.min(imageSets, start + perJob) - 1} in ${(ms / 1000).toFixed(1)} s`);
      }
      const files: Record<string, Uint8Array> = {};
      const slices = syntheticCtSeries({ patientName: 'BENCH^BIG', patientId: 'BENCH-BIG', slices: bigInstances, rows: 8, columns: 8, seed: 7 });
      slices.forEach((p10, i) => (files[`${i}.dcm`] = withAttributes(p10, { ImageComments: COMMENT })));
      const ms = await importJob(client, dataDir, datastoreId, files);
      log(`  imported the ${bigInstances}-instance image set in ${(ms / 1000).toFixed(1)} s`);
      const { SearchImageSetsCommand } = await import('@aws-sdk/client-medical-imaging');
      const found = await client.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: 'BENCH-BIG' }] }] } }));
      const bigImageSetId = found.imageSetsMetadataSummaries?.[0]?.imageSetId;
      if (!bigImageSetId) throw new Error('the big image set was not found after its import');
      return { datastoreId, imageSets, patients, bigImageSetId, bigInstances };
    },
    log,
  );
}

export interface FramesManifest {
  datastoreId: string;
  sets: Array<{ size: number; imageSetId: string }>;
}

/** A datastore with one 16-bit CT image set per size (one slice each), stored as HTJ2K. */
export function frameSets(sizes: number[], log: (m: string) => void) {
  return cached<FramesManifest>(
    `frames-${sizes.join('-')}`,
    async (dataDir, client) => {
      const datastoreId = await createDatastore(client, 'bench-frames');
      const sets: FramesManifest['sets'] = [];
      const { SearchImageSetsCommand } = await import('@aws-sdk/client-medical-imaging');
      for (const size of sizes) {
        const patientId = `BENCH-FRAME-${size}`;
        const [p10] = syntheticCtSeries({ patientName: 'BENCH^FRAME', patientId, slices: 1, rows: size, columns: size, seed: size });
        await importJob(client, dataDir, datastoreId, { 'slice.dcm': p10! });
        const found = await client.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: patientId }] }] } }));
        sets.push({ size, imageSetId: found.imageSetsMetadataSummaries![0]!.imageSetId! });
      }
      return { datastoreId, sets };
    },
    log,
  );
}

/**
 * `count` DICOM files of about 1 MB each (one 724 × 724 16-bit CT slice per file, one series) for STOW-RS, written
 * once under bench/.data/ and reused; with their names (sorted) and total size.
 */
export async function stowFiles(count: number, log: (m: string) => void): Promise<{ dir: string; names: string[]; bytes: number }> {
  const dir = path.join(CACHE_DIR, `stow-${count}-v${DATA_VERSION}`);
  const done = path.join(dir, 'complete');
  if (!existsSync(done)) {
    log(`writing ${count} files for STOW-RS in ${path.relative(BENCH_DIR, dir)} (cached for later runs)`);
    await fs.rm(dir, { recursive: true, force: true });
    await fs.mkdir(dir, { recursive: true });
    // In batches, so that the whole series is never in memory at once.
    for (let start = 0; start < count; start += 20) {
      const batch = syntheticCtSeries({ patientName: 'BENCH^STOW', patientId: 'BENCH-STOW', slices: Math.min(20, count - start), rows: 724, columns: 724, seed: start + 1 });
      for (const [i, bytes] of batch.entries()) await fs.writeFile(path.join(dir, `${String(start + i).padStart(4, '0')}.dcm`), bytes);
    }
    await fs.writeFile(done, '');
  }
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.dcm')).sort();
  let bytes = 0;
  for (const name of names) bytes += (await fs.stat(path.join(dir, name))).size;
  return { dir, names, bytes };
}
