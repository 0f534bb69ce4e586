/** Creates datastores and imports DICOM files into them through the real SDK, as a user would. */
import { randomUUID } from 'node:crypto';
import {
  CreateDatastoreCommand,
  GetDatastoreCommand,
  GetDICOMImportJobCommand,
  GetImageSetCommand,
  type MedicalImagingClient,
  SearchImageSetsCommand,
  StartDICOMImportJobCommand,
} from '@aws-sdk/client-medical-imaging';
import { putFiles } from './dicom-files.js';
import { waitFor } from './local.js';

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/ImportJobDataAccessRole';

export async function createActiveDatastore(client: MedicalImagingClient, name = `ds-${randomUUID().slice(0, 8)}`): Promise<string> {
  const { datastoreId } = await client.send(new CreateDatastoreCommand({ datastoreName: name }));
  await waitFor(
    () => client.send(new GetDatastoreCommand({ datastoreId })),
    (r) => r.datastoreProperties?.datastoreStatus === 'ACTIVE',
    10_000,
    'datastore ACTIVE',
  );
  return datastoreId!;
}

export interface ImportResult {
  jobId: string;
  inputS3Uri: string;
  outputS3Uri: string;
  jobStatus: string;
  message?: string;
}

/** Writes `files` under a fresh S3 prefix, runs an import job and waits for it to end. */
export async function importFiles(client: MedicalImagingClient, dataDir: string, datastoreId: string, files: Record<string, Uint8Array>, options: { timeoutMs?: number } = {}): Promise<ImportResult> {
  const prefix = randomUUID().slice(0, 8);
  const inputS3Uri = `s3://test-input/${prefix}/`;
  await putFiles(dataDir, inputS3Uri, files);
  const started = await client.send(
    new StartDICOMImportJobCommand({ datastoreId, jobName: `job-${prefix}`, dataAccessRoleArn: ROLE_ARN, inputS3Uri, outputS3Uri: `s3://test-output/${prefix}/` }),
  );
  const done = await waitFor(
    () => client.send(new GetDICOMImportJobCommand({ datastoreId, jobId: started.jobId })),
    (r) => r.jobProperties?.jobStatus === 'COMPLETED' || r.jobProperties?.jobStatus === 'FAILED',
    options.timeoutMs ?? 60_000,
    'import job to end',
  );
  const p = done.jobProperties!;
  return { jobId: started.jobId!, inputS3Uri, outputS3Uri: p.outputS3Uri!, jobStatus: p.jobStatus!, ...(p.message && { message: p.message }) };
}

/** IDs of the image sets holding the series, primary first. */
export async function imageSetsOfSeries(client: MedicalImagingClient, datastoreId: string, seriesInstanceUID: string): Promise<Array<{ imageSetId: string; isPrimary: boolean; version: number }>> {
  const res = await client.send(
    new SearchImageSetsCommand({ datastoreId, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMSeriesInstanceUID: seriesInstanceUID }] }] } }),
  );
  return res
    .imageSetsMetadataSummaries!.map((s) => ({ imageSetId: s.imageSetId!, isPrimary: s.isPrimary!, version: s.version! }))
    .sort((a, b) => Number(b.isPrimary) - Number(a.isPrimary));
}

/** Waits until the image set's lock is released (ACTIVE), returning GetImageSet's answer. */
export function waitActive(client: MedicalImagingClient, datastoreId: string, imageSetId: string) {
  return waitFor(
    () => client.send(new GetImageSetCommand({ datastoreId, imageSetId })),
    (r) => r.imageSetState === 'ACTIVE',
    10_000,
    `image set ${imageSetId} ACTIVE`,
  );
}
