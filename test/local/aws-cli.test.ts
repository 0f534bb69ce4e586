/**
 * The real AWS CLI v1 against the local service, in the shapes of the CLI's own documentation examples
 * (`aws medical-imaging <command> help`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { aws, awsCliAvailable } from '../helpers/aws-cli.js';
import { ctSeriesFiles, putFiles } from '../helpers/dicom-files.js';
import { startTestService, tempDir, type TestService } from '../helpers/local.js';

let t: TestService;
let work: string;

describe.skipIf(!awsCliAvailable)('AWS CLI v1 (documentation example shapes)', () => {
  beforeAll(async () => {
    t = await startTestService();
    work = tempDir('himcp-cli-');
    await putFiles(t.dataDir, 's3://medical-imaging-dicom-input/dicom_input/', ctSeriesFiles({ slices: 3, patientId: 'SUBJECT08701', patientName: 'Melissa844^Huel628' }));
  });
  afterAll(async () => {
    await t?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  let datastoreId: string;
  let jobId: string;
  let imageSetId: string;
  let doc: ImageSetMetadataDocument;

  it('create-datastore, then get-datastore until ACTIVE', async () => {
    const created = JSON.parse(await aws(t.service, ['create-datastore', '--datastore-name', 'my-datastore']));
    expect(created).toEqual({ datastoreId: expect.stringMatching(/^[0-9a-z]{32}$/), datastoreStatus: 'CREATING' });
    datastoreId = created.datastoreId;
    const j2k = JSON.parse(await aws(t.service, ['create-datastore', '--datastore-name', 'my-datastore', '--lossless-storage-format', 'JPEG_2000_LOSSLESS']));
    expect(j2k.datastoreStatus).toBe('CREATING');
    for (let i = 0; i < 50; i++) {
      const got = JSON.parse(await aws(t.service, ['get-datastore', '--datastore-id', datastoreId]));
      if (got.datastoreProperties.datastoreStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('datastore never became ACTIVE');
  });

  it('start-dicom-import-job and get-dicom-import-job until COMPLETED', async () => {
    const started = JSON.parse(
      await aws(t.service, [
        'start-dicom-import-job',
        '--job-name', 'my-job',
        '--datastore-id', datastoreId,
        '--input-s3-uri', 's3://medical-imaging-dicom-input/dicom_input/',
        '--output-s3-uri', 's3://medical-imaging-output/job_output/',
        '--data-access-role-arn', 'arn:aws:iam::123456789012:role/ImportJobDataAccessRole',
      ]),
    );
    expect(started).toMatchObject({ datastoreId, jobStatus: 'SUBMITTED' });
    // CLI v1 prints timestamps as the wire's epoch seconds (its cli_timestamp_format default).
    expect(started.submittedAt).toBeGreaterThan(1.7e9);
    jobId = started.jobId;
    let props: Record<string, string> = {};
    for (let i = 0; i < 200 && props.jobStatus !== 'COMPLETED' && props.jobStatus !== 'FAILED'; i++) {
      props = JSON.parse(await aws(t.service, ['get-dicom-import-job', '--datastore-id', datastoreId, '--job-id', jobId])).jobProperties;
    }
    expect(props).toMatchObject({
      jobId,
      jobName: 'my-job',
      jobStatus: 'COMPLETED',
      datastoreId,
      dataAccessRoleArn: 'arn:aws:iam::123456789012:role/ImportJobDataAccessRole',
      inputS3Uri: 's3://medical-imaging-dicom-input/dicom_input/',
      outputS3Uri: `s3://medical-imaging-output/job_output/${datastoreId}-DicomImport-${jobId}/`,
    });
    expect(Number(props.endedAt)).toBeGreaterThanOrEqual(started.submittedAt);
  });

  it('search-image-sets with the four documented search criteria', async () => {
    const search = async (criteria: unknown) => {
      await fs.writeFile(path.join(work, 'search-criteria.json'), JSON.stringify(criteria));
      return JSON.parse(await aws(t.service, ['search-image-sets', '--datastore-id', datastoreId, '--search-criteria', 'file://search-criteria.json'], work));
    };
    const equal = await search({ filters: [{ values: [{ DICOMPatientId: 'SUBJECT08701' }], operator: 'EQUAL' }] });
    expect(equal.imageSetsMetadataSummaries).toHaveLength(1);
    const summary = equal.imageSetsMetadataSummaries[0];
    expect(summary).toMatchObject({ version: 1, isPrimary: true, DICOMTags: { DICOMPatientId: 'SUBJECT08701', DICOMNumberOfStudyRelatedInstances: 3, DICOMNumberOfStudyRelatedSeries: 1 } });
    imageSetId = summary.imageSetId;

    const studyDate = summary.DICOMTags.DICOMStudyDate as string;
    const between = await search({
      filters: [{ values: [{ DICOMStudyDateAndTime: { DICOMStudyDate: '19900101', DICOMStudyTime: '000000' } }, { DICOMStudyDateAndTime: { DICOMStudyDate: '20991231', DICOMStudyTime: '000000' } }], operator: 'BETWEEN' }],
    });
    expect(between.imageSetsMetadataSummaries.map((s: { imageSetId: string }) => s.imageSetId)).toContain(imageSetId);
    expect(studyDate).toMatch(/^\d{8}$/);

    const created = await search({ filters: [{ values: [{ createdAt: '1985-04-12T23:20:50.52Z' }, { createdAt: '2099-04-12T23:20:50.52Z' }], operator: 'BETWEEN' }] });
    expect(created.imageSetsMetadataSummaries).toHaveLength(1);
    const empty = await search({ filters: [{ values: [{ createdAt: '1985-04-12T23:20:50.52Z' }, { createdAt: '1986-04-12T23:20:50.52Z' }], operator: 'BETWEEN' }] });
    expect(empty.imageSetsMetadataSummaries).toHaveLength(0);

    const combined = await search({
      filters: [
        { values: [{ updatedAt: '2000-03-11T15:00:05.074000-07:00' }, { updatedAt: '2099-03-11T16:00:05.074000-07:00' }], operator: 'BETWEEN' },
        { values: [{ DICOMSeriesInstanceUID: summary.DICOMTags.DICOMSeriesInstanceUID }], operator: 'EQUAL' },
      ],
      sort: { sortField: 'updatedAt', sortOrder: 'ASC' },
    });
    expect(combined.imageSetsMetadataSummaries).toHaveLength(1);
    expect(combined.sort).toEqual({ sortField: 'updatedAt', sortOrder: 'ASC' });
  });

  it('get-image-set-metadata writes the gzipped document, with and without --version-id', async () => {
    const out = JSON.parse(await aws(t.service, ['get-image-set-metadata', '--datastore-id', datastoreId, '--image-set-id', imageSetId, 'studymetadata.json.gz'], work));
    expect(out).toEqual({ contentType: 'application/json', contentEncoding: 'gzip' });
    const gz = await fs.readFile(path.join(work, 'studymetadata.json.gz'));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    doc = JSON.parse(gunzipSync(gz).toString('utf8'));
    expect(doc).toMatchObject({ SchemaVersion: '1.1', DatastoreID: datastoreId, ImageSetID: imageSetId });
    expect(doc.Patient.DICOM.PatientID).toBe('SUBJECT08701');
    await aws(t.service, ['get-image-set-metadata', '--datastore-id', datastoreId, '--image-set-id', imageSetId, '--version-id', '1', 'v1.json.gz'], work);
    expect(await fs.readFile(path.join(work, 'v1.json.gz'))).toEqual(gz);
  });

  it('get-image-frame writes the HTJ2K codestream, whose decoded pixels match the metadata checksum', async () => {
    const series = Object.values(doc.Study.Series)[0]!;
    const instance = Object.values(series.Instances)[0]!;
    const frame = instance.ImageFrames[0]!;
    const out = JSON.parse(
      await aws(t.service, ['get-image-frame', '--datastore-id', datastoreId, '--image-set-id', imageSetId, '--image-frame-information', `imageFrameId=${frame.ID}`, 'imageframe.jph'], work),
    );
    expect(out.contentType).toBe('image/jph');
    const bytes = new Uint8Array(await fs.readFile(path.join(work, 'imageframe.jph')));
    expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);
    const rows = instance.DICOM.Rows as number;
    const columns = instance.DICOM.Columns as number;
    const decoded = await decodeFrame(bytes, instance.StoredTransferSyntaxUID, {
      rows,
      columns,
      samplesPerPixel: 1,
      bitsAllocated: 16,
      bitsStored: 16,
      pixelRepresentation: 1,
      photometricInterpretation: 'MONOCHROME2',
      planarConfiguration: 0,
      numberOfFrames: 1,
    });
    expect(crc32(decoded.pixels)).toBe(frame.PixelDataChecksumFromBaseToFullResolution.at(-1)!.Checksum);
  });

  it('reports AWS errors the way the CLI prints them', async () => {
    await expect(aws(t.service, ['get-image-set', '--datastore-id', datastoreId, '--image-set-id', '0'.repeat(32)])).rejects.toThrow(/ResourceNotFoundException/);
  });
});
