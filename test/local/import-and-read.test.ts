import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CreateDatastoreCommand,
  GetDICOMImportJobCommand,
  GetImageFrameCommand,
  GetImageSetCommand,
  GetImageSetMetadataCommand,
  ListDatastoresCommand,
  ListDICOMImportJobsCommand,
  ListImageSetVersionsCommand,
  MedicalImagingClient,
  paginateListDICOMImportJobs,
  paginateListImageSetVersions,
  paginateSearchImageSets,
  SearchImageSetsCommand,
  type SearchCriteria,
  StartDICOMImportJobCommand,
} from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { attributesOf, ctSeriesFiles, s3Path, withAttributes } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles, ROLE_ARN } from '../helpers/import.js';
import { rejection, startTestService, type TestService } from '../helpers/local.js';

let t: TestService;
let ds: string;
let seriesA: string;
let seriesB: string;
let studyUid: string;
let firstJob: Awaited<ReturnType<typeof importFiles>>;
let filesA: Record<string, Uint8Array>;

const metadata = async (imageSetId: string, versionId?: string) => {
  const res = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId, ...(versionId && { versionId }) }));
  const gz = await res.imageSetMetadataBlob!.transformToByteArray();
  return { res, gz, doc: JSON.parse(gunzipSync(gz).toString('utf8')) as ImageSetMetadataDocument };
};
const search = (criteria: SearchCriteria, extra: { maxResults?: number } = {}) =>
  t.client.send(new SearchImageSetsCommand({ datastoreId: ds, searchCriteria: criteria, ...extra }));
const ids = (r: Awaited<ReturnType<typeof search>>) => r.imageSetsMetadataSummaries!.map((s) => s.imageSetId!);

beforeAll(async () => {
  t = await startTestService();
  ds = await createActiveDatastore(t.client, 'reads');
  const common = { AccessionNumber: 'ACC-1000', StudyID: 'STUDY-01', StudyDate: '20240115', StudyTime: '101500' };
  filesA = Object.fromEntries(Object.entries(ctSeriesFiles({ slices: 4, seed: 11, patientId: 'PATA01', patientName: 'ALPHA^ANNA' })).map(([k, v]) => [k, withAttributes(v, common)]));
  const a = attributesOf(filesA['0001.dcm']!);
  seriesA = String(a.SeriesInstanceUID);
  studyUid = String(a.StudyInstanceUID);
  const b = ctSeriesFiles({ slices: 2, seed: 12, patientId: 'PATA01', patientName: 'ALPHA^ANNA', studyInstanceUID: studyUid });
  seriesB = String(attributesOf(b['0001.dcm']!).SeriesInstanceUID);
  // Same series as A, but another patient: HealthImaging puts it in a new non-primary image set.
  const conflicting = withAttributes(ctSeriesFiles({ slices: 1, seed: 13, seriesInstanceUID: seriesA, studyInstanceUID: studyUid })['0001.dcm']!, { ...common, PatientID: 'PATOTHER' });
  const truncated = filesA['0002.dcm']!.subarray(0, 300);
  firstJob = await importFiles(t.client, t.dataDir, ds, {
    'a/0001.dcm': filesA['0001.dcm']!,
    'a/0002.dcm': filesA['0002.dcm']!,
    'a/0003.dcm': filesA['0003.dcm']!,
    'b/0001.dcm': withAttributes(b['0001.dcm']!, common),
    'b/0002.dcm': withAttributes(b['0002.dcm']!, common),
    'conflict/0001.dcm': conflicting,
    'junk/notes.txt': new TextEncoder().encode('not a DICOM file'),
    'junk/truncated.dcm': truncated,
  });
});
afterAll(async () => t.stop());

describe('import jobs', () => {
  it('end COMPLETED even with bad files, and write the job output layout', async () => {
    expect(firstJob.jobStatus).toBe('COMPLETED');
    expect(firstJob.outputS3Uri).toBe(`${firstJob.outputS3Uri.split(`${ds}-DicomImport-`)[0]}${ds}-DicomImport-${firstJob.jobId}/`);
    const out = s3Path(t.dataDir, firstJob.outputS3Uri);
    const manifest = JSON.parse(await fs.readFile(path.join(out, 'job-output-manifest.json'), 'utf8')).jobSummary;
    expect(manifest).toMatchObject({
      jobId: firstJob.jobId,
      datastoreId: ds,
      inputS3Uri: firstJob.inputS3Uri,
      outputS3Uri: firstJob.outputS3Uri,
      numberOfScannedFiles: 8,
      numberOfImportedFiles: 6,
      numberOfFilesWithCustomerError: 2,
      numberOfFilesWithServerError: 0,
      numberOfGeneratedImageSets: 3,
    });
    const success = (await fs.readFile(path.join(out, 'SUCCESS', 'success.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(success).toHaveLength(6);
    const prefix = firstJob.inputS3Uri.replace('s3://test-input/', '');
    expect(success.map((l) => l.inputFile).sort()).toContain(`${prefix}a/0001.dcm`);
    expect(success.find((l) => l.inputFile.endsWith('conflict/0001.dcm')).importResponse.isPrimary).toBe(false);
    const failures = (await fs.readFile(path.join(out, 'FAILURE', 'failure.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(failures.map((f) => f.inputFile).sort()).toEqual([`${prefix}junk/notes.txt`, `${prefix}junk/truncated.dcm`]);
    for (const f of failures) expect(f.exception).toMatchObject({ exceptionType: 'ValidationException', message: expect.any(String) });
  });

  it('are listed newest first with a status filter and paging, and fetched by ID', async () => {
    await importFiles(t.client, t.dataDir, ds, { 'x.txt': new Uint8Array([1, 2, 3]) });
    const all: string[] = [];
    for await (const page of paginateListDICOMImportJobs({ client: t.client, pageSize: 1 }, { datastoreId: ds })) all.push(...page.jobSummaries!.map((j) => j.jobId!));
    expect(all).toHaveLength(2);
    expect(all[1]).toBe(firstJob.jobId);
    const completed = await t.client.send(new ListDICOMImportJobsCommand({ datastoreId: ds, jobStatus: 'COMPLETED' }));
    expect(completed.jobSummaries!.map((j) => j.jobStatus)).toEqual(['COMPLETED', 'COMPLETED']);
    const failed = await t.client.send(new ListDICOMImportJobsCommand({ datastoreId: ds, jobStatus: 'FAILED' }));
    expect(failed.jobSummaries).toEqual([]);
    const job = await t.client.send(new GetDICOMImportJobCommand({ datastoreId: ds, jobId: firstJob.jobId }));
    expect(job.jobProperties).toMatchObject({ jobId: firstJob.jobId, jobStatus: 'COMPLETED', datastoreId: ds, dataAccessRoleArn: ROLE_ARN, inputS3Uri: firstJob.inputS3Uri });
    expect(job.jobProperties!.submittedAt).toBeInstanceOf(Date);
    expect(job.jobProperties!.endedAt!.getTime()).toBeGreaterThanOrEqual(job.jobProperties!.submittedAt!.getTime());
  });

  it('fail with a message when the input location is empty', async () => {
    const res = await t.client.send(new StartDICOMImportJobCommand({ datastoreId: ds, dataAccessRoleArn: ROLE_ARN, inputS3Uri: 's3://nothing-here/none/', outputS3Uri: 's3://out-bucket/x/' }));
    let status = 'SUBMITTED';
    let message: string | undefined;
    while (status === 'SUBMITTED' || status === 'IN_PROGRESS') {
      const got = await t.client.send(new GetDICOMImportJobCommand({ datastoreId: ds, jobId: res.jobId }));
      status = got.jobProperties!.jobStatus!;
      message = got.jobProperties!.message;
    }
    expect(status).toBe('FAILED');
    expect(message).toMatch(/No objects/);
  });

  it('validate their inputs and targets', async () => {
    const start = (input: Record<string, unknown>) =>
      rejection(t.client.send(new StartDICOMImportJobCommand({ datastoreId: ds, dataAccessRoleArn: ROLE_ARN, inputS3Uri: 's3://bucket/in/', outputS3Uri: 's3://bucket/out/', ...input })));
    expect((await start({ inputS3Uri: 's3://bucket/../../etc/' })).name).toBe('ValidationException');
    expect((await start({ inputS3Uri: 'file:///etc/passwd' })).message).toContain('inputS3Uri');
    expect((await start({ dataAccessRoleArn: 'not-a-role' })).message).toContain('dataAccessRoleArn');
    expect((await start({ jobName: 'bad name!' })).message).toContain('jobName');
    expect((await start({ datastoreId: 'a'.repeat(32) })).name).toBe('ResourceNotFoundException');
    const { datastoreId: creating } = await t.client.send(new CreateDatastoreCommand({ datastoreName: 'still-creating' }));
    const err = await start({ datastoreId: creating });
    expect([err.name, err.$metadata?.httpStatusCode]).toEqual(['ConflictException', 409]);
    const missingJob = await rejection(t.client.send(new GetDICOMImportJobCommand({ datastoreId: ds, jobId: 'b'.repeat(32) })));
    expect(missingJob.name).toBe('ResourceNotFoundException');
    const badJob = await rejection(t.client.send(new GetDICOMImportJobCommand({ datastoreId: ds, jobId: 'BAD' })));
    expect(badJob.name).toBe('ValidationException');
  });
});

describe('reads', () => {
  let primaryA: string;
  let doc: ImageSetMetadataDocument;

  it('GetImageSet describes the primary image set of a series', async () => {
    const sets = await imageSetsOfSeries(t.client, ds, seriesA);
    expect(sets.map((s) => s.isPrimary)).toEqual([true, false]);
    primaryA = sets[0]!.imageSetId;
    const got = await t.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: primaryA }));
    expect(got).toMatchObject({ datastoreId: ds, imageSetId: primaryA, versionId: '1', imageSetState: 'ACTIVE', imageSetWorkflowStatus: 'CREATED', isPrimary: true });
    expect(got.imageSetArn).toMatch(new RegExp(`^arn:aws:medical-imaging:us-east-1:\\d{12}:datastore/${ds}/imageset/${primaryA}$`));
    expect(got.createdAt).toBeInstanceOf(Date);
    const v1 = await t.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: primaryA, versionId: '1' }));
    expect(v1.versionId).toBe('1');
    expect((await rejection(t.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: primaryA, versionId: '7' })))).name).toBe('ResourceNotFoundException');
  });

  it('GetImageSetMetadata returns the gzipped document with its levels', async () => {
    const { res, gz, doc: d } = await metadata(primaryA);
    doc = d;
    expect(res.contentEncoding).toBe('gzip');
    expect(res.contentType).toBe('application/json');
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect(doc).toMatchObject({ SchemaVersion: '1.1', DatastoreID: ds, ImageSetID: primaryA });
    expect(doc.Patient.DICOM).toMatchObject({ PatientID: 'PATA01' });
    expect(doc.Study.DICOM).toMatchObject({ StudyInstanceUID: studyUid, AccessionNumber: 'ACC-1000', StudyID: 'STUDY-01', StudyDate: '20240115' });
    expect(Object.keys(doc.Study.Series)).toEqual([seriesA]);
    const series = doc.Study.Series[seriesA]!;
    expect(series.DICOM.Modality).toBe('CT');
    expect(Object.keys(series.Instances)).toHaveLength(3);
    for (const [sop, instance] of Object.entries(series.Instances)) {
      expect(instance.DICOM.SOPInstanceUID).toBe(sop);
      expect(instance.DICOM.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
      expect(instance.DICOM).not.toHaveProperty('PixelData');
      expect(instance.StoredTransferSyntaxUID).toBe('1.2.840.10008.1.2.4.202');
      expect(instance.ImageFrames).toHaveLength(1);
      expect(instance.ImageFrames[0]).toMatchObject({ ID: expect.stringMatching(/^[0-9a-z]{32}$/), MinPixelValue: expect.any(Number), MaxPixelValue: expect.any(Number) });
    }
  });

  it('GetImageFrame returns each stored HTJ2K frame, whose decoded CRC32 is the metadata checksum', async () => {
    for (const instance of Object.values(doc.Study.Series[seriesA]!.Instances)) {
      const frame = instance.ImageFrames[0]!;
      const res = await t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: primaryA, imageFrameInformation: { imageFrameId: frame.ID } }));
      expect(res.contentType).toBe('image/jph');
      const bytes = await res.imageFrameBlob!.transformToByteArray();
      expect([...bytes.subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);
      const decoded = await decodeFrame(bytes, instance.StoredTransferSyntaxUID, {
        rows: instance.DICOM.Rows as number,
        columns: instance.DICOM.Columns as number,
        samplesPerPixel: 1,
        bitsAllocated: 16,
        bitsStored: instance.DICOM.BitsStored as number,
        pixelRepresentation: instance.DICOM.PixelRepresentation as 0 | 1,
        photometricInterpretation: 'MONOCHROME2',
        planarConfiguration: 0,
        numberOfFrames: 1,
      });
      expect(crc32(decoded.pixels)).toBe(frame.PixelDataChecksumFromBaseToFullResolution.at(-1)!.Checksum);
    }
    const missing = await rejection(t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: primaryA, imageFrameInformation: { imageFrameId: 'c'.repeat(32) } })));
    expect([missing.name, missing.$metadata?.httpStatusCode]).toEqual(['ResourceNotFoundException', 404]);
    const bad = await rejection(t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: primaryA, imageFrameInformation: { imageFrameId: 'nope' } })));
    expect(bad.name).toBe('ValidationException');
  });

  it('a re-import merges into the primary image set as a new version; old versions stay readable', async () => {
    const job = await importFiles(t.client, t.dataDir, ds, { 'again/0003.dcm': filesA['0003.dcm']!, 'again/0004.dcm': filesA['0004.dcm']! });
    expect(job.jobStatus).toBe('COMPLETED');
    const got = await t.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: primaryA }));
    expect(got).toMatchObject({ versionId: '2', imageSetWorkflowStatus: 'IMPORTED', imageSetState: 'ACTIVE' });
    expect(Object.keys((await metadata(primaryA)).doc.Study.Series[seriesA]!.Instances)).toHaveLength(4);
    expect(Object.keys((await metadata(primaryA, '1')).doc.Study.Series[seriesA]!.Instances)).toHaveLength(3);
    const versions: Array<{ versionId?: string; ImageSetWorkflowStatus?: string }> = [];
    for await (const page of paginateListImageSetVersions({ client: t.client, pageSize: 1 }, { datastoreId: ds, imageSetId: primaryA })) versions.push(...page.imageSetPropertiesList!);
    expect(versions.map((x) => [x.versionId, x.ImageSetWorkflowStatus])).toEqual([
      ['2', 'IMPORTED'],
      ['1', 'CREATED'],
    ]);
    const bad = await rejection(t.client.send(new ListImageSetVersionsCommand({ datastoreId: ds, imageSetId: primaryA, maxResults: 51 })));
    expect(bad.name).toBe('ValidationException');
  });

  it('unknown and malformed image set IDs get 404 and 400', async () => {
    const missing = await rejection(t.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: 'd'.repeat(32) })));
    expect([missing.name, missing.$metadata?.httpStatusCode]).toEqual(['ResourceNotFoundException', 404]);
    const bad = await rejection(t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: 'x/y' })));
    expect([bad.name, bad.$metadata?.httpStatusCode]).toEqual(['ValidationException', 400]);
    const otherDs = await rejection(t.client.send(new GetImageSetCommand({ datastoreId: 'e'.repeat(32), imageSetId: primaryA })));
    expect(otherDs.name).toBe('ResourceNotFoundException');
  });

  it('a store that lost a file answers 500 InternalServerException, not a broken body', async () => {
    const [primary] = await imageSetsOfSeries(t.client, ds, seriesB);
    const dir = path.join(t.dataDir, 'store', 'datastores', ds, 'image-sets', primary!.imageSetId, 'versions');
    await fs.rename(path.join(dir, '1.json.gz'), path.join(dir, 'moved-away'));
    const client = new MedicalImagingClient({ region: 'us-east-1', endpoint: t.service.endpoint, credentials: t.service.credentials, disableHostPrefix: true, maxAttempts: 1 });
    const err = await rejection(client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: primary!.imageSetId })));
    expect([err.name, err.$metadata?.httpStatusCode]).toEqual(['InternalServerException', 500]);
    await fs.rename(path.join(dir, 'moved-away'), path.join(dir, '1.json.gz'));
    client.destroy();
  });
});

describe('SearchImageSets', () => {
  it('filters on every attribute with EQUAL', async () => {
    const [primaryA, nonPrimary] = await imageSetsOfSeries(t.client, ds, seriesA);
    const [primaryB] = await imageSetsOfSeries(t.client, ds, seriesB);
    const eq = (value: Record<string, unknown>) => search({ filters: [{ operator: 'EQUAL', values: [value as never] }] });
    expect(ids(await eq({ DICOMPatientId: 'PATA01' })).sort()).toEqual([primaryA!.imageSetId, primaryB!.imageSetId].sort());
    expect(ids(await eq({ DICOMPatientId: 'pata01' }))).toEqual([]);
    expect(ids(await eq({ DICOMAccessionNumber: 'ACC-1000' }))).toHaveLength(3);
    expect(ids(await eq({ DICOMStudyId: 'STUDY-01' }))).toHaveLength(3);
    expect(ids(await eq({ DICOMStudyInstanceUID: studyUid }))).toHaveLength(3);
    expect(ids(await eq({ DICOMSeriesInstanceUID: seriesB }))).toEqual([primaryB!.imageSetId]);
    expect(ids(await eq({ isPrimary: false }))).toEqual([nonPrimary!.imageSetId]);
    expect(ids(await eq({ DICOMStudyDateAndTime: { DICOMStudyDate: '20240115' } }))).toHaveLength(3);
    expect(ids(await eq({ DICOMStudyDateAndTime: { DICOMStudyDate: '20240115', DICOMStudyTime: '101500' } }))).toHaveLength(3);
    expect(ids(await eq({ DICOMStudyDateAndTime: { DICOMStudyDate: '20240115', DICOMStudyTime: '101501' } }))).toEqual([]);
    const summary = (await eq({ DICOMSeriesInstanceUID: seriesB })).imageSetsMetadataSummaries![0]!;
    expect(summary).toMatchObject({ version: 1, isPrimary: true, DICOMTags: { DICOMPatientId: 'PATA01', DICOMPatientName: 'ALPHA^ANNA', DICOMSeriesModality: 'CT', DICOMNumberOfStudyRelatedInstances: 2, DICOMStudyDate: '20240115' } });
    expect(summary.createdAt).toBeInstanceOf(Date);
  });

  it('filters with BETWEEN on createdAt, updatedAt and study date/time, and combines two filters', async () => {
    const between = (a: Record<string, unknown>, b: Record<string, unknown>) => ({ operator: 'BETWEEN' as const, values: [a, b] as never[] });
    const now = new Date();
    const hourAgo = new Date(now.getTime() - 3_600_000);
    expect(ids(await search({ filters: [between({ createdAt: hourAgo }, { createdAt: new Date(now.getTime() + 60_000) })] }))).toHaveLength(3);
    expect(ids(await search({ filters: [between({ updatedAt: new Date(0) }, { updatedAt: hourAgo })] }))).toEqual([]);
    const date = (d: string, tm?: string) => ({ DICOMStudyDateAndTime: { DICOMStudyDate: d, ...(tm && { DICOMStudyTime: tm }) } });
    expect(ids(await search({ filters: [between(date('20240101'), date('20240131'))] }))).toHaveLength(3);
    expect(ids(await search({ filters: [between(date('20240115', '101600'), date('20240131'))] }))).toEqual([]);
    expect(ids(await search({ filters: [between(date('20240115', '101500'), date('20240115', '101500'))] }))).toHaveLength(3);
    const combined = await search({ filters: [between(date('20240101'), date('20240131')), { operator: 'EQUAL', values: [{ DICOMSeriesInstanceUID: seriesB }] }] });
    expect(ids(combined)).toHaveLength(1);
  });

  it('sorts by updatedAt DESC by default and by the requested field and order', async () => {
    const byDefault = await search({});
    expect(byDefault.sort).toEqual({ sortField: 'updatedAt', sortOrder: 'DESC' });
    const updated = byDefault.imageSetsMetadataSummaries!.map((s) => s.updatedAt!.getTime());
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
    const asc = await search({ sort: { sortField: 'createdAt', sortOrder: 'ASC' } });
    const created = asc.imageSetsMetadataSummaries!.map((s) => s.createdAt!.getTime());
    expect(created).toEqual([...created].sort((a, b) => a - b));
    expect(ids(await search({ sort: { sortField: 'DICOMStudyDateAndTime', sortOrder: 'DESC' } }))).toHaveLength(3);
  });

  it('pages with maxResults and an opaque nextToken, none on the last page', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateSearchImageSets({ client: t.client, pageSize: 1 }, { datastoreId: ds, searchCriteria: { sort: { sortField: 'createdAt', sortOrder: 'ASC' } } })) {
      pages++;
      seen.push(...ids(page));
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(3);
    const last = await search({}, { maxResults: 3 });
    expect(last.nextToken).toBeUndefined();
    const first = await search({}, { maxResults: 1 });
    const wrongQuery = await rejection(t.client.send(new SearchImageSetsCommand({ datastoreId: ds, nextToken: first.nextToken, searchCriteria: { sort: { sortField: 'createdAt', sortOrder: 'ASC' } } })));
    expect(wrongQuery.name).toBe('ValidationException');
  });

  it('rejects malformed criteria with a ValidationException naming the problem', async () => {
    const v = (value: Record<string, unknown>) => value as never;
    const bad: Array<[SearchCriteria, string]> = [
      [{ filters: [] }, 'filters'],
      [{ filters: [1, 2, 3].map(() => ({ operator: 'EQUAL', values: [v({ DICOMPatientId: 'x' })] })) }  as unknown as SearchCriteria, 'filters'],
      [{ filters: [{ operator: 'BETWEEN', values: [v({ createdAt: new Date() })] }] }  as unknown as SearchCriteria, 'BETWEEN'],
      [{ filters: [{ operator: 'EQUAL', values: [v({ DICOMPatientId: 'a' }), v({ DICOMPatientId: 'b' })] }] }  as unknown as SearchCriteria, 'EQUAL'],
      [{ filters: [{ operator: 'BETWEEN', values: [v({ DICOMPatientId: 'a' }), v({ DICOMPatientId: 'b' })] }] }  as unknown as SearchCriteria, 'BETWEEN'],
      [{ filters: [{ operator: 'EQUAL', values: [v({ DICOMPatientId: 'a', DICOMStudyId: 'b' })] }] }  as unknown as SearchCriteria, 'exactly one'],
      [{ filters: [{ operator: 'LIKE', values: [v({ DICOMPatientId: 'a' })] }] } as unknown  as unknown as SearchCriteria, 'operator'],
      [{ filters: [{ operator: 'EQUAL', values: [v({ DICOMStudyDateAndTime: { DICOMStudyDate: '2024-01-15' } })] }] }  as unknown as SearchCriteria, 'YYYYMMDD'],
      [{ filters: [{ operator: 'EQUAL', values: [v({ DICOMStudyInstanceUID: 'abc' })] }] }  as unknown as SearchCriteria, 'DICOMStudyInstanceUID'],
      [{ sort: { sortField: 'DICOMPatientId', sortOrder: 'ASC' } } as unknown  as unknown as SearchCriteria, 'sortField'],
    ];
    for (const [criteria, hint] of bad) {
      const err = await rejection(search(criteria));
      expect(err.name, JSON.stringify(criteria)).toBe('ValidationException');
      expect(err.message, JSON.stringify(criteria)).toContain(hint);
    }
    for (const maxResults of [0, 51]) expect((await rejection(search({}, { maxResults }))).message).toContain('maxResults');
    const missing = await rejection(t.client.send(new SearchImageSetsCommand({ datastoreId: 'f'.repeat(32), searchCriteria: {} })));
    expect(missing.name).toBe('ResourceNotFoundException');
  });
});

describe('throttling', () => {
  it('answers 429 ThrottlingException past the in-flight limit', async () => {
    const small = await startTestService({ maxInFlightRequests: 1 });
    // Hold the only slot: a request whose body never finishes arriving.
    const url = new URL(small.service.endpoint);
    const slow = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/datastore', headers: { 'content-length': '100' } });
    slow.on('error', () => undefined);
    slow.write('{');
    await new Promise((r) => setTimeout(r, 100));
    const client = new MedicalImagingClient({ region: 'us-east-1', endpoint: small.service.endpoint, credentials: small.service.credentials, maxAttempts: 1 });
    const err = await rejection(client.send(new ListDatastoresCommand({})));
    expect([err.name, err.$metadata?.httpStatusCode]).toEqual(['ThrottlingException', 429]);
    slow.destroy();
    client.destroy();
    await small.stop();
  });
});
