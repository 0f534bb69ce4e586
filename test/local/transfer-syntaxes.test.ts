/**
 * Whatever transfer syntax a file arrives in, the stored frame decodes to the original pixels: the CRC32 of the
 * decoded frame served by GetImageFrame equals the metadata checksum and the CRC32 of the source's native pixels.
 * Inputs: pydicom's MR_small in five encodings, plus JPEG Lossless and RLE copies made independently by dcmtk.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetImageFrameCommand, GetImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import { parseP10 } from '../../src/dicom/p10.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { PYDICOM_FILES } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles } from '../helpers/import.js';
import { startTestService, tempDir, type TestService } from '../helpers/local.js';

const MR = path.join(PYDICOM_FILES, 'MR_small.dcm');
const haveSamples = existsSync(MR);
const haveDcmtk = existsSync('/usr/bin/dcmcjpeg') && existsSync('/usr/bin/dcmcrle');
if (!haveSamples) console.warn('[skip] pydicom sample files are not installed (apt package python3-pydicom): transfer syntax interop tests are skipped');
if (!haveDcmtk) console.warn('[skip] dcmtk is not installed: the dcmtk-encoded inputs are skipped');

describe.skipIf(!haveSamples)('frames from every input transfer syntax decode to the original pixels', () => {
  let t: TestService;
  let ds: string;
  const inputs: Array<[string, Uint8Array]> = [];
  let nativeCrc: number;

  beforeAll(async () => {
    t = await startTestService();
    ds = await createActiveDatastore(t.client);
    for (const name of ['MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm']) {
      inputs.push([name, new Uint8Array(readFileSync(path.join(PYDICOM_FILES, name)))]);
    }
    if (haveDcmtk) {
      const dir = tempDir('himcp-dcmtk-');
      execFileSync('dcmcjpeg', ['+e1', MR, path.join(dir, 'jpegll.dcm')]);
      execFileSync('dcmcrle', [MR, path.join(dir, 'rle.dcm')]);
      inputs.push(['dcmtk JPEG Lossless SV1', new Uint8Array(readFileSync(path.join(dir, 'jpegll.dcm')))]);
      inputs.push(['dcmtk RLE', new Uint8Array(readFileSync(path.join(dir, 'rle.dcm')))]);
    }
    nativeCrc = crc32(parseP10(inputs[0]![1]).frameData[0]!);
  });
  afterAll(async () => t?.stop());

  it('for each input: stored as HTJ2K .202, checksum = CRC32 of the source pixels = CRC32 of the decoded served frame', async () => {
    const seen = new Set<string>();
    for (const [name, bytes] of inputs) {
      const parsed = parseP10(bytes);
      seen.add(parsed.transferSyntaxUID);
      const job = await importFiles(t.client, t.dataDir, ds, { 'mr.dcm': bytes });
      expect(job.jobStatus, name).toBe('COMPLETED');
      const [set] = await imageSetsOfSeries(t.client, ds, parsed.seriesInstanceUID);
      const res = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: set!.imageSetId }));
      const doc = JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString('utf8')) as ImageSetMetadataDocument;
      const instance = doc.Study.Series[parsed.seriesInstanceUID]!.Instances[parsed.sopInstanceUID]!;
      expect(instance.DICOM.TransferSyntaxUID, name).toBe(parsed.transferSyntaxUID);
      expect(instance.StoredTransferSyntaxUID, name).toBe('1.2.840.10008.1.2.4.202');
      const frame = instance.ImageFrames[0]!;
      const checksum = frame.PixelDataChecksumFromBaseToFullResolution.at(-1)!.Checksum;
      expect(checksum, name).toBe(nativeCrc);
      const served = await t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: set!.imageSetId, imageFrameInformation: { imageFrameId: frame.ID } }));
      const decoded = await decodeFrame(await served.imageFrameBlob!.transformToByteArray(), instance.StoredTransferSyntaxUID, parsed.geometry!);
      expect(crc32(decoded.pixels), name).toBe(checksum);
    }
    expect(seen.size).toBeGreaterThanOrEqual(haveDcmtk ? 7 : 6);
  });
});
