/**
 * Import jobs of many files convert them in worker threads (src/local/convert-pool.ts): every instance must arrive
 * as it would from the main thread, in input order, and a bad file must still be a per-file ValidationException.
 */
import { GetImageFrameCommand, GetImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import { geometryOf } from '../../src/dicom/p10.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { ctSeriesFiles, s3Path } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles } from '../helpers/import.js';
import { startTestService, type TestService } from '../helpers/local.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.stop());

describe('an import job of 24 files (converted in worker threads)', () => {
  it('imports every instance with frames whose decoded pixels match their checksums, and reports a bad file as a customer error', async () => {
    const ds = await createActiveDatastore(t.client, 'pool');
    const series = '1.2.826.0.1.3680043.8.498.777001';
    const files: Record<string, Uint8Array> = { ...ctSeriesFiles({ slices: 23, size: 32, seriesInstanceUID: series }), 'zz-not-dicom.dcm': new TextEncoder().encode('not a DICOM file') };
    const job = await importFiles(t.client, t.dataDir, ds, files);
    expect(job.jobStatus).toBe('COMPLETED');
    const manifest = JSON.parse(await fs.readFile(path.join(s3Path(t.dataDir, job.outputS3Uri), 'job-output-manifest.json'), 'utf8'));
    expect(manifest.jobSummary).toMatchObject({ numberOfScannedFiles: 24, numberOfImportedFiles: 23, numberOfFilesWithCustomerError: 1, numberOfFilesWithServerError: 0 });

    const [set] = await imageSetsOfSeries(t.client, ds, series);
    const gz = await (await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: set!.imageSetId }))).imageSetMetadataBlob!.transformToByteArray();
    const doc = JSON.parse(gunzipSync(gz).toString('utf8')) as ImageSetMetadataDocument;
    const instances = Object.values(doc.Study.Series[series]!.Instances);
    expect(instances).toHaveLength(23);
    for (const instance of instances.slice(0, 5)) {
      const frame = instance.ImageFrames[0]!;
      const bytes = await (await t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: set!.imageSetId, imageFrameInformation: { imageFrameId: frame.ID } }))).imageFrameBlob!.transformToByteArray();
      const decoded = await decodeFrame(bytes, instance.StoredTransferSyntaxUID!, geometryOf({ ...doc.Study.Series[series]!.DICOM, ...instance.DICOM }));
      expect(crc32(decoded.pixels)).toBe(frame.PixelDataChecksumFromBaseToFullResolution![0]!.Checksum);
    }
  });
});
