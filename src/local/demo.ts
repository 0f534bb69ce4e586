/**
 * Demo data: a datastore named `demo` with synthetic, obviously fictional studies (multi-slice CT, MR, a multi-frame
 * instance, a private tag), imported through the same import-job path as any user's files.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { datastoreArn, newId, type ServiceContext } from './api/context.js';
import { mapS3Uri } from './s3.js';
import { nowSeconds, type DatastoreRecord, type JobRecord } from './store/records.js';

export const DEMO_DATASTORE_NAME = 'demo';
const DEMO_BUCKET = 's3://healthimaging-demo';

/** Returns the demo datastore's ID, creating and importing the demo data when it does not exist yet. */
export async function seedDemoData(service: ServiceContext, region = 'us-east-1'): Promise<string> {
  const { store, settings } = service;
  const existing = store.datastores().find((d) => d.datastoreName === DEMO_DATASTORE_NAME && d.datastoreStatus !== 'DELETED');
  if (existing) return existing.datastoreId;

  const input = mapS3Uri(settings.s3Root, `${DEMO_BUCKET}/input/`, 'inputS3Uri');
  await writeDemoFiles(input.dir);

  const datastoreId = newId();
  const now = nowSeconds();
  const datastore: DatastoreRecord = {
    datastoreId,
    datastoreName: DEMO_DATASTORE_NAME,
    datastoreStatus: 'ACTIVE',
    datastoreArn: datastoreArn(settings, region, datastoreId),
    region,
    createdAt: now,
    updatedAt: now,
    losslessStorageFormat: 'HTJ2K',
    clientToken: `demo-${datastoreId}`,
    requestFingerprint: 'demo',
    tags: { purpose: 'demo' },
  };
  await store.putDatastore(datastore);
  const jobId = newId();
  const job: JobRecord = {
    datastoreId,
    jobId,
    jobName: 'demo-import',
    jobStatus: 'SUBMITTED',
    dataAccessRoleArn: `arn:aws:iam::${settings.accountId}:role/HealthImagingDemoImportRole`,
    inputS3Uri: `${DEMO_BUCKET}/input/`,
    outputS3Uri: `${DEMO_BUCKET}/output/${datastoreId}-DicomImport-${jobId}/`,
    clientToken: jobId,
    requestFingerprint: 'demo',
    submittedAt: now,
  };
  await store.putJob(job);
  service.imports.submit(datastoreId, jobId);
  await waitForJob(service, datastoreId, jobId);
  return datastoreId;
}

async function waitForJob(service: ServiceContext, datastoreId: string, jobId: string): Promise<void> {
  for (;;) {
    const job = service.store.job(datastoreId, jobId);
    if (job?.jobStatus === 'COMPLETED') return;
    if (job?.jobStatus === 'FAILED') throw new Error(`The demo import failed: ${job.message ?? 'no message'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function writeDemoFiles(dir: string): Promise<void> {
  const { syntheticCtSeries, syntheticMrSeries, syntheticMultiframe } = await import('../dicom/synthetic.js');
  const sets: Array<[string, Uint8Array[]]> = [
    ['chest-ct', syntheticCtSeries({ patientName: 'DEMO^CHEST^CT', patientId: 'DEMO-0001', slices: 12, rows: 256, columns: 256, seed: 1, privateTag: true })],
    ['head-mr', syntheticMrSeries({ patientName: 'DEMO^HEAD^MR', patientId: 'DEMO-0002', slices: 8, rows: 256, columns: 256, seed: 2 })],
    ['cine-xa', [syntheticMultiframe({ patientName: 'DEMO^CINE^XA', patientId: 'DEMO-0003', frames: 6, rows: 256, columns: 256, seed: 3 })]],
  ];
  for (const [folder, files] of sets) {
    await fs.mkdir(path.join(dir, folder), { recursive: true });
    await Promise.all(files.map((bytes, i) => fs.writeFile(path.join(dir, folder, `${String(i + 1).padStart(4, '0')}.dcm`), bytes)));
  }
}
