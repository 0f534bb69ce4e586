/**
 * Crash safety: the service is SIGKILLed in the middle of work and restarted on the same data directory.
 * Everything that was answered must be there, complete; nothing may be half-written.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CopyImageSetCommand,
  GetDICOMImportJobCommand,
  GetImageFrameCommand,
  GetImageSetMetadataCommand,
  ListImageSetVersionsCommand,
  type MedicalImagingClient,
  SearchImageSetsCommand,
  StartDICOMImportJobCommand,
  UpdateImageSetMetadataCommand,
} from '@aws-sdk/client-medical-imaging';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { ctSeriesFiles, putFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore, importFiles, ROLE_ARN } from '../helpers/import.js';
import { sdkClient, tempDir, waitFor } from '../helpers/local.js';
import { type SpawnedService, spawnLocalService } from '../helpers/spawn.js';

const running: SpawnedService[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.kill()));
  await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function start(dataDir: string) {
  const service = await spawnLocalService(dataDir);
  running.push(service);
  return { service, client: sdkClient(service, { maxAttempts: 1 }) };
}

async function readDoc(client: MedicalImagingClient, datastoreId: string, imageSetId: string, versionId?: string): Promise<ImageSetMetadataDocument> {
  const res = await client.send(new GetImageSetMetadataCommand({ datastoreId, imageSetId, ...(versionId && { versionId }) }));
  return JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString('utf8'));
}

/** Every image set of the datastore reads back whole: its document parses and every frame it names is served. */
async function assertStoreConsistent(client: MedicalImagingClient, datastoreId: string): Promise<number> {
  const { imageSetsMetadataSummaries } = await client.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: {}, maxResults: 50 }));
  for (const summary of imageSetsMetadataSummaries!) {
    const doc = await readDoc(client, datastoreId, summary.imageSetId!);
    expect(doc.ImageSetID).toBe(summary.imageSetId);
    for (const series of Object.values(doc.Study.Series)) {
      for (const instance of Object.values(series.Instances)) {
        for (const frame of instance.ImageFrames) {
          const res = await client.send(new GetImageFrameCommand({ datastoreId, imageSetId: summary.imageSetId, imageFrameInformation: { imageFrameId: frame.ID } }));
          expect((await res.imageFrameBlob!.transformToByteArray()).length).toBe(frame.FrameSizeInBytes);
        }
      }
    }
    const versions = await client.send(new ListImageSetVersionsCommand({ datastoreId, imageSetId: summary.imageSetId }));
    const numbers = versions.imageSetPropertiesList!.map((v) => Number(v.versionId));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => numbers.length - i));
  }
  return imageSetsMetadataSummaries!.length;
}

async function tmpFiles(dataDir: string): Promise<string[]> {
  return fs.readdir(path.join(dataDir, 'store', '.tmp')).catch(() => []);
}

describe('crash safety', () => {
  it('an import killed mid-job is resumed after restart; no image set is half-written', async () => {
    const dataDir = tempDir('himcp-crash-');
    dirs.push(dataDir);
    let { service, client } = await start(dataDir);
    const datastoreId = await createActiveDatastore(client);
    const files: Record<string, Uint8Array> = {};
    for (let s = 0; s < 6; s++) {
      for (const [name, bytes] of Object.entries(ctSeriesFiles({ slices: 10, size: 128, seed: 500 + s, patientId: `CRASH-${s}` }))) files[`series-${s}/${name}`] = bytes;
    }
    await putFiles(dataDir, 's3://crash/input/', files);
    const { jobId } = await client.send(new StartDICOMImportJobCommand({ datastoreId, dataAccessRoleArn: ROLE_ARN, inputS3Uri: 's3://crash/input/', outputS3Uri: 's3://crash/output/' }));
    await waitFor(() => client.send(new GetDICOMImportJobCommand({ datastoreId, jobId })), (r) => r.jobProperties?.jobStatus !== 'SUBMITTED', 30_000);
    await service.kill('SIGKILL');

    ({ service, client } = await start(dataDir));
    const ended = await waitFor(
      () => client.send(new GetDICOMImportJobCommand({ datastoreId, jobId })),
      (r) => r.jobProperties?.jobStatus === 'COMPLETED' || r.jobProperties?.jobStatus === 'FAILED',
      60_000,
    );
    expect(['COMPLETED', 'FAILED']).toContain(ended.jobProperties!.jobStatus);
    if (ended.jobProperties!.jobStatus === 'FAILED') expect(ended.jobProperties!.message).toMatch(/stopped/);
    const sets = await assertStoreConsistent(client, datastoreId);
    if (ended.jobProperties!.jobStatus === 'COMPLETED') expect(sets).toBe(6);
    expect(await tmpFiles(dataDir)).toEqual([]);
  });

  it('after SIGKILL during a burst of updates and copies, every answered change is present and nothing is torn', async () => {
    const dataDir = tempDir('himcp-crash-');
    dirs.push(dataDir);
    let { service, client } = await start(dataDir);
    const datastoreId = await createActiveDatastore(client);
    const targets: string[] = [];
    for (let s = 0; s < 4; s++) {
      await importFiles(client, dataDir, datastoreId, ctSeriesFiles({ slices: 2, size: 64, seed: 700 + s, patientId: `BURST-${s}` }));
    }
    const found = await client.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: {} }));
    targets.push(...found.imageSetsMetadataSummaries!.map((s) => s.imageSetId!));

    // Each worker updates its own image set in a loop (waiting for the lock to clear), or copies it.
    const answered: Array<{ imageSetId: string; versionId: string; name?: string; copyOf?: string }> = [];
    let stop = false;
    const worker = async (imageSetId: string, index: number) => {
      let version = '1';
      for (let n = 0; !stop; n++) {
        try {
          if (n % 3 === 2) {
            const res = await client.send(new CopyImageSetCommand({ datastoreId, sourceImageSetId: imageSetId, copyImageSetInformation: { sourceImageSet: { latestVersionId: version } } }));
            answered.push({ imageSetId: res.destinationImageSetProperties!.imageSetId!, versionId: '1', copyOf: imageSetId });
          } else {
            const name = `BURST^${index}^${n}`;
            const updatableAttributes = new TextEncoder().encode(JSON.stringify({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: name } } }));
            const res = await client.send(new UpdateImageSetMetadataCommand({ datastoreId, imageSetId, latestVersionId: version, updateImageSetMetadataUpdates: { DICOMUpdates: { updatableAttributes } } }));
            version = res.latestVersionId!;
            answered.push({ imageSetId, versionId: version, name });
          }
        } catch (err) {
          if ((err as Error).name !== 'ConflictException') return; // the service is gone
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const workers = targets.map((id, i) => worker(id, i));
    await waitFor(async () => answered.length, (n) => n >= 12, 30_000);
    await service.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);

    ({ service, client } = await start(dataDir));
    for (const change of answered) {
      const doc = await readDoc(client, datastoreId, change.imageSetId, change.versionId);
      if (change.name) expect(doc.Patient.DICOM.PatientName).toBe(change.name);
      if (change.copyOf) expect(Object.keys(doc.Study.Series).length).toBe(1);
    }
    await waitFor(async () => (await tmpFiles(dataDir)).length, (n) => n === 0, 10_000);
    await assertStoreConsistent(client, datastoreId);
  });
});
