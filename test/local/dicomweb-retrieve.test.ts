/**
 * QIDO-RS and WADO-RS against the local service, driven as a viewer would: plain fetch with SigV4 signed by
 * @smithy/signature-v4. Data goes in through STOW-RS; frames and files that come back are checked against the
 * source files, against GetImageFrame (the real AWS SDK) and, for Part 10 output, against dcmtk's dcmdump.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetImageFrameCommand, GetImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import { parseP10 } from '../../src/dicom/p10.js';
import { syntheticCtSeries, syntheticMrSeries } from '../../src/dicom/synthetic.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { PYDICOM_FILES, attributesOf, withAttributes } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries } from '../helpers/import.js';
import { startTestService, type TestService } from '../helpers/local.js';
import { DicomwebClient, first, multipartParts, type DicomJson } from './dicomweb-client.js';

const HTJ2K = '1.2.840.10008.1.2.4.202';
const ELE = '1.2.840.10008.1.2.1';
const JPHC = `multipart/related; type="image/jphc"; transfer-syntax=${HTJ2K}`;
const OCTETS = 'multipart/related; type=application/octet-stream; transfer-syntax=*';
const RGB_2FRAME = path.join(PYDICOM_FILES, 'SC_rgb_rle_2frame.dcm');
const haveRgb = existsSync(RGB_2FRAME);
const haveDcmdump = existsSync('/usr/bin/dcmdump');

let t: TestService;
let c: DicomwebClient;
let ds: string;
const ct = syntheticCtSeries({ patientName: 'ALPHA^ANNA', patientId: 'PAT-A', slices: 3, rows: 48, columns: 48, seed: 21, studyDescription: 'CT CHEST', privateTag: true });
const studyA = String(attributesOf(ct[0]!).StudyInstanceUID);
const mr = syntheticMrSeries({ patientName: 'ALPHA^ANNA', patientId: 'PAT-A', slices: 2, rows: 32, columns: 32, seed: 22, studyInstanceUID: studyA, studyDescription: 'CT CHEST', seriesNumber: 2 });
const ctB = syntheticCtSeries({ patientName: 'BETA^BOB', patientId: 'PAT-B', slices: 1, rows: 32, columns: 32, seed: 23, studyDate: '20230601', studyDescription: 'CT TORAX BAJA DOSIS' });
/** A large binary attribute (1.5 MB) and a small one on the last CT slice, for BulkDataURI and InlineBinary. */
const bigBinary = new Uint8Array(1_500_000).map((_, i) => (i * 7) & 0xff);
const smallBinary = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const ctWithBinaries = withAttributes(ct[2]!, { EncapsulatedDocument: bigBinary.buffer, RedPaletteColorLookupTableData: smallBinary.buffer });

const ids = (p10: Uint8Array) => {
  const a = attributesOf(p10);
  return { study: String(a.StudyInstanceUID), series: String(a.SeriesInstanceUID), sop: String(a.SOPInstanceUID) };
};
const instancePath = (p10: Uint8Array) => {
  const id = ids(p10);
  return `/datastore/${ds}/studies/${id.study}/series/${id.series}/instances/${id.sop}`;
};
const values = (results: DicomJson[] | undefined, tag: string) => (results ?? []).map((r) => first(r, tag));

beforeAll(async () => {
  t = await startTestService();
  c = new DicomwebClient(t.service.endpoint, t.service.credentials);
  ds = await createActiveDatastore(t.client, 'dicomweb-reads');
  const stored = await c.store(ds, [ct[0]!, ct[1]!, ctWithBinaries, ...mr, ...ctB, ...(haveRgb ? [new Uint8Array(readFileSync(RGB_2FRAME))] : [])]);
  if (stored.status !== 200) throw new Error(`STOW failed: ${stored.status} ${stored.response.headers.get('warning')}`);
});
afterAll(async () => t.stop());

describe('a viewer session: store, search, metadata, frames', () => {
  it('finds the study, lists its series, reads their metadata and decodes the frames to the source pixels', async () => {
    const studies = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-A' } });
    expect(studies.status).toBe(200);
    expect(values(studies.body, '0020000D')).toEqual([studyA]);

    const series = await c.json(`/datastore/${ds}/studies/${studyA}/series`);
    expect(values(series.body, '00080060')).toEqual(['CT', 'MR']);
    const ctSeries = String(first(series.body![0], '0020000E'));

    const metadata = await c.json(`/datastore/${ds}/studies/${studyA}/series/${ctSeries}/metadata`);
    expect(metadata.body).toHaveLength(3);
    for (const instance of metadata.body!) {
      const sop = String(first(instance, '00080018'));
      const source = parseP10([ct[0]!, ct[1]!, ctWithBinaries].find((p10) => ids(p10).sop === sop)!);
      expect(first(instance, '00280010')).toBe(source.geometry!.rows);
      expect(instance['00083002']!.Value).toContain(HTJ2K);
      // A viewer that decodes HTJ2K asks for it first, with uncompressed frames as the fallback.
      const frames = await c.fetch(`/datastore/${ds}/studies/${studyA}/series/${ctSeries}/instances/${sop}/frames/1`, { headers: { accept: `${JPHC}, ${OCTETS}` } });
      expect(frames.status).toBe(200);
      const [part] = await multipartParts(frames);
      expect(part!.headers['content-type']).toBe(`image/jphc; transfer-syntax=${HTJ2K}`);
      const decoded = await decodeFrame(part!.body, HTJ2K, source.geometry!);
      expect(Buffer.from(decoded.pixels).equals(Buffer.from(source.frameData[0]!))).toBe(true);
    }
  });

  // Regression: the OpenJPH WASM encoder once stored unsigned 0 as 32768, so MR backgrounds came back wrong.
  it('unsigned 16-bit zeros (MR background) survive HTJ2K storage', async () => {
    const source = parseP10(mr[0]!);
    const res = await c.fetch(`${instancePath(mr[0]!)}/frames/1`, { headers: { accept: OCTETS } });
    const [part] = await multipartParts(res);
    expect(Buffer.from(part!.body).equals(Buffer.from(source.frameData[0]!))).toBe(true);
  });
});

describe('QIDO-RS', () => {
  it('returns the study attributes PS3.18 requires, in the DICOM JSON model', async () => {
    const { body } = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-A' } });
    const [study] = body!;
    expect(study!['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'ALPHA^ANNA' }] });
    expect(study!['00080061']).toEqual({ vr: 'CS', Value: ['CT', 'MR'] });
    expect(study!['00201206']).toEqual({ vr: 'IS', Value: [2] });
    expect(study!['00201208']).toEqual({ vr: 'IS', Value: [5] });
    expect(study!['00080056']).toEqual({ vr: 'CS', Value: ['ONLINE'] });
    expect(first(study, '00081190')).toBe(`${t.service.endpoint}/datastore/${ds}/studies/${studyA}`);
    expect(Object.keys(study!)).toEqual([...Object.keys(study!)].sort());
  });

  it('matches keys given by keyword or tag, exactly and case-sensitively, with * and ? wildcards', async () => {
    const studyOf = async (query: Record<string, string>) => {
      const res = await c.json(`/datastore/${ds}/studies`, { query });
      return res.status === 204 ? [] : values(res.body, '00100020');
    };
    expect(await studyOf({ '00100020': 'PAT-A' })).toEqual(['PAT-A']);
    expect(await studyOf({ StudyDescription: '*TORAX*' })).toEqual(['PAT-B']);
    expect(await studyOf({ PatientName: 'ALPHA*' })).toEqual(['PAT-A']);
    expect(await studyOf({ PatientName: 'B?TA^BOB' })).toEqual(['PAT-B']);
    expect(await studyOf({ PatientName: 'alpha*' })).toEqual([]);
    expect(await studyOf({ PatientName: 'ALPHA' })).toEqual([]);
    expect(await studyOf({ fuzzymatching: 'true', PatientName: 'alpha' })).toEqual(['PAT-A']);
    expect(await studyOf({ fuzzymatching: 'true', PatientName: 'ann alp' })).toEqual(['PAT-A']);
    expect(await studyOf({ StudyDate: '20240101-20241231', PatientID: 'PAT-*' })).toEqual(['PAT-A']);
    expect(await studyOf({ StudyDate: '-20231231', PatientID: 'PAT-*' })).toEqual(['PAT-B']);
    expect(await studyOf({ ModalitiesInStudy: 'MR' })).toEqual(['PAT-A']);
    expect(await studyOf({ StudyInstanceUID: `1.2.3,${studyA}` })).toEqual(['PAT-A']);
  });

  it('answers 204 with no body when nothing matches', async () => {
    const res = await c.fetch(`/datastore/${ds}/studies?PatientID=NOBODY`, { query: { PatientID: 'NOBODY' } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });

  it('pages with limit and offset, and caps limit at 1,000 with a Warning', async () => {
    const all = values((await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-*' } })).body, '0020000D');
    expect(all).toHaveLength(2);
    const page1 = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-*', limit: '1' } });
    const page2 = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-*', limit: '1', offset: '1' } });
    expect([...values(page1.body, '0020000D'), ...values(page2.body, '0020000D')]).toEqual(all);
    expect((await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-*', offset: '2' } })).status).toBe(204);
    const capped = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-*', limit: '5000' } });
    expect(capped.status).toBe(200);
    expect(capped.response.headers.get('warning')).toMatch(/^299 .*maximum of 1000/);
  });

  it('returns includefield attributes (by keyword or tag, or all) and the universal match keys', async () => {
    const series = await c.json(`/datastore/${ds}/studies/${studyA}/series`, { query: { includefield: ['InstitutionName', '00181030'], Modality: 'CT' } });
    expect(first(series.body![0], '00080080')).toBe('DEMO IMAGING CENTRE');
    const instances = await c.json(`/datastore/${ds}/studies/${studyA}/series/${ids(ct[0]!).series}/instances`, { query: { includefield: 'ImagePositionPatient' } });
    const position = instances.body![0]!['00200032']!;
    expect(position.vr).toBe('DS');
    expect(position.Value).toEqual((attributesOf(ct[0]!).ImagePositionPatient as number[]).map(Number));
    const all = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-B', includefield: 'all' } });
    expect(first(all.body![0], '00120062')).toBe('YES');
    const universal = await c.json(`/datastore/${ds}/studies`, { query: { PatientID: 'PAT-B', AccessionNumber: '' } });
    expect(universal.body![0]!['00080050']).toBeDefined();
  });

  it('searches series and instances, scoped and datastore-wide, in SeriesNumber and InstanceNumber order', async () => {
    const allSeries = await c.json(`/datastore/${ds}/series`, { query: { Modality: 'MR' } });
    expect(allSeries.body).toHaveLength(1);
    // Outside a study, a series result carries its study's attributes too.
    expect(first(allSeries.body![0], '00100020')).toBe('PAT-A');
    expect(first(allSeries.body![0], '00201209')).toBe(2);

    const inSeries = await c.json(`/datastore/${ds}/studies/${studyA}/series/${ids(ct[0]!).series}/instances`);
    expect(values(inSeries.body, '00200013')).toEqual([1, 2, 3]);
    expect(first(inSeries.body![0], '00100020')).toBeUndefined();
    expect(values((await c.json(`/datastore/${ds}/studies/${studyA}/instances`)).body, '00080018')).toHaveLength(5);
    const one = await c.json(`/datastore/${ds}/instances`, { query: { SOPInstanceUID: ids(mr[1]!).sop } });
    expect(values(one.body, '00080018')).toEqual([ids(mr[1]!).sop]);
    expect(first(one.body![0], '00081190')).toBe(`${t.service.endpoint}${instancePath(mr[1]!)}`);
  });

  it('refuses unsupported match keys and unknown parameters with 400', async () => {
    const queries: Array<Record<string, string>> = [{ InstitutionName: 'X' }, { notAnAttribute: '1' }, { limit: '-1' }, { offset: '9001' }, { StudyDate: '2024' }, { fuzzymatching: 'yes' }];
    for (const query of queries) {
      const res = await c.json(`/datastore/${ds}/studies`, { query });
      expect(res.status, JSON.stringify(query)).toBe(400);
    }
  });
});

describe('WADO-RS metadata and bulk data', () => {
  it('returns instance metadata as DICOM JSON: tags, VRs, numbers, PN objects, private tags with their VR, no file meta', async () => {
    const { status, body } = await c.json(`${instancePath(ct[0]!)}/metadata`);
    expect(status).toBe(200);
    const [instance] = body!;
    expect(instance!['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'ALPHA^ANNA' }] });
    expect(instance!['00180050']).toEqual({ vr: 'DS', Value: [5] });
    expect(instance!['00200013']).toEqual({ vr: 'IS', Value: [1] });
    expect(instance!['00280010']).toEqual({ vr: 'US', Value: [48] });
    expect(instance!['00280120']).toEqual({ vr: 'SS', Value: [-2000] });
    expect(instance!['00091001']).toEqual({ vr: 'LO', Value: ['SYNTHETIC PHANTOM'] });
    expect(instance!['00083002']).toEqual({ vr: 'UI', Value: [HTJ2K, ELE] });
    expect(Object.keys(instance!).some((k) => k.startsWith('0002'))).toBe(false);
    expect(instance!['7FE00010']).toBeUndefined();
  });

  it('returns series metadata for every instance of the series', async () => {
    const { body } = await c.json(`/datastore/${ds}/studies/${studyA}/series/${ids(ct[0]!).series}/metadata`);
    expect(values(body, '00080018').sort()).toEqual(ct.map((p10) => ids(p10).sop).sort());
  });

  it('replaces binaries over 1 MB with a BulkDataURI that GetDICOMBulkdata serves; smaller ones are inline', async () => {
    const { body } = await c.json(`${instancePath(ctWithBinaries)}/metadata`);
    const [instance] = body!;
    expect(instance!['00281201']).toEqual({ vr: 'OW', InlineBinary: Buffer.from(smallBinary).toString('base64') });
    const uri = instance!['00420011']!.BulkDataURI!;
    expect(uri).toMatch(new RegExp(`^${t.service.endpoint}${instancePath(ctWithBinaries)}/bulkdata/[0-9a-f]{32}$`));

    const multipart = await c.fetch(new URL(uri).pathname);
    expect(multipart.status).toBe(200);
    const [part] = await multipartParts(multipart);
    expect(Buffer.from(part!.body).equals(Buffer.from(bigBinary))).toBe(true);
    const bare = await c.fetch(new URL(uri).pathname, { headers: { accept: 'application/octet-stream' } });
    expect(Buffer.from(await bare.arrayBuffer()).equals(Buffer.from(bigBinary))).toBe(true);
    expect((await c.fetch(`${instancePath(ctWithBinaries)}/bulkdata/${'0'.repeat(32)}`)).status).toBe(404);
  });

  it('answers 404 for instances and series that do not exist', async () => {
    expect((await c.json(`/datastore/${ds}/studies/${studyA}/series/${ids(ct[0]!).series}/instances/1.2.3/metadata`)).status).toBe(404);
    expect((await c.json(`/datastore/${ds}/studies/${studyA}/series/1.2.3/metadata`)).status).toBe(404);
  });
});

describe('WADO-RS frames', () => {
  it('serves stored HTJ2K bytes for image/jphc, identical to GetImageFrame', async () => {
    const res = await c.fetch(`${instancePath(ct[0]!)}/frames/1`, { headers: { accept: JPHC } });
    expect(res.headers.get('content-type')).toMatch(/^multipart\/related; type="image\/jphc"/);
    const [part] = await multipartParts(res);
    const [set] = await imageSetsOfSeries(t.client, ds, ids(ct[0]!).series);
    const meta = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: set!.imageSetId }));
    const doc = JSON.parse(gunzipSync(await meta.imageSetMetadataBlob!.transformToByteArray()).toString()) as ImageSetMetadataDocument;
    const frameId = doc.Study.Series[ids(ct[0]!).series]!.Instances[ids(ct[0]!).sop]!.ImageFrames[0]!.ID;
    const frame = await t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: set!.imageSetId, imageFrameInformation: { imageFrameId: frameId } }));
    expect(Buffer.from(part!.body).equals(Buffer.from(await frame.imageFrameBlob!.transformToByteArray()))).toBe(true);
  });

  it('decodes to Explicit VR Little Endian for application/octet-stream (transfer-syntax=* or absent): the source pixels', async () => {
    for (const accept of [OCTETS, 'multipart/related; type="application/octet-stream"', '*/*', undefined]) {
      const res = await c.fetch(`${instancePath(ct[1]!)}/frames/1`, accept ? { headers: { accept } } : {});
      expect(res.status, accept).toBe(200);
      const [part] = await multipartParts(res);
      expect(part!.headers['content-type']).toBe(`application/octet-stream; transfer-syntax=${ELE}`);
      expect(Buffer.from(part!.body).equals(Buffer.from(parseP10(ct[1]!).frameData[0]!))).toBe(true);
    }
  });

  it.skipIf(!haveRgb)('serves several frames in the order asked, each decoding to its checksum', async () => {
    const source = new Uint8Array(readFileSync(RGB_2FRAME));
    const parsed = parseP10(source);
    const res = await c.fetch(`${instancePath(source)}/frames/2,1`, { headers: { accept: OCTETS } });
    const parts = await multipartParts(res);
    expect(parts).toHaveLength(2);
    const expected = await Promise.all([1, 0].map(async (i) => crc32((await decodeFrame(parsed.frameData[i]!, parsed.transferSyntaxUID, parsed.geometry!)).pixels)));
    const got = await Promise.all(parts.map(async (p) => crc32((await decodeFrame(p.body, ELE, parsed.geometry!)).pixels)));
    expect(got).toEqual(expected);
  });

  it('answers 400 to a quoted transfer-syntax, 406 to a representation it cannot produce, 400/404 to bad frame lists', async () => {
    const url = `${instancePath(ct[0]!)}/frames/1`;
    const quoted = await c.fetch(url, { headers: { accept: `multipart/related; type="image/jphc"; transfer-syntax="${HTJ2K}"` } });
    expect(quoted.status).toBe(400);
    for (const accept of ['multipart/related; type="image/jpeg"', 'multipart/related; type="image/jphc"; transfer-syntax=1.2.840.10008.1.2.4.201', 'multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2', 'image/jphc']) {
      const res = await c.fetch(url, { headers: { accept } });
      expect(res.status, accept).toBe(406);
      expect(res.headers.get('x-amzn-errortype')).toBe('NotAcceptableException');
    }
    expect((await c.fetch(`${instancePath(ct[0]!)}/frames/1,1`)).status).toBe(400);
    expect((await c.fetch(`${instancePath(ct[0]!)}/frames/0`)).status).toBe(400);
    expect((await c.fetch(`${instancePath(ct[0]!)}/frames/a`)).status).toBe(400);
    expect((await c.fetch(`${instancePath(ct[0]!)}/frames/2`)).status).toBe(404);
  });
});

describe('WADO-RS instances', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'himcp-wado-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns Part 10 in Explicit VR Little Endian by default, with the source attributes and pixels', async () => {
    const res = await c.fetch(instancePath(ct[0]!), { headers: { accept: 'application/dicom' } });
    expect(res.headers.get('content-type')).toBe(`application/dicom; transfer-syntax=${ELE}`);
    const p10 = new Uint8Array(await res.arrayBuffer());
    const parsed = parseP10(p10);
    const source = parseP10(ct[0]!);
    expect(parsed.transferSyntaxUID).toBe(ELE);
    expect(Buffer.from(parsed.frameData[0]!).equals(Buffer.from(source.frameData[0]!))).toBe(true);
    expect(parsed.patient).toEqual(source.patient);
    expect(parsed.series).toEqual(source.series);
    const { TransferSyntaxUID: _a, ImplementationClassUID: _b, ImplementationVersionName: _c, FileMetaInformationGroupLength: _d, ...rest } = parsed.instance.DICOM;
    const { TransferSyntaxUID: _e, ImplementationClassUID: _f, ImplementationVersionName: _g, FileMetaInformationGroupLength: _h, ...sourceRest } = source.instance.DICOM;
    expect(rest).toEqual(sourceRest);
  });

  it.skipIf(!haveDcmdump)('writes files that dcmtk reads without complaint, in both transfer syntaxes', async () => {
    for (const accept of ['application/dicom', `application/dicom; transfer-syntax=${HTJ2K}`]) {
      const res = await c.fetch(instancePath(ct[2]!), { headers: { accept } });
      const file = path.join(dir, 'instance.dcm');
      writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
      const dump = spawnSync('dcmdump', ['-q', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect([dump.status, dump.stderr], accept).toEqual([0, '']);
      expect(dump.stdout, accept).toContain('(0010,0010) PN [ALPHA^ANNA]');
      expect(dump.stdout).toContain(accept.includes(HTJ2K) ? '(7fe0,0010) OB (PixelSequence' : '(7fe0,0010) OW');
    }
  });

  it('returns the stored transfer syntax on request, frames exactly as stored', async () => {
    const res = await c.fetch(instancePath(ct[0]!), { headers: { accept: `application/dicom; transfer-syntax=${HTJ2K}` } });
    const parsed = parseP10(new Uint8Array(await res.arrayBuffer()));
    expect(parsed.transferSyntaxUID).toBe(HTJ2K);
    const frames = await multipartParts(await c.fetch(`${instancePath(ct[0]!)}/frames/1`, { headers: { accept: JPHC } }));
    expect(Buffer.from(parsed.frameData[0]!).equals(Buffer.from(frames[0]!.body))).toBe(true);
  });

  it('wraps the file in multipart/related when asked that way, and answers 406 for other syntaxes', async () => {
    const res = await c.fetch(instancePath(mr[0]!), { headers: { accept: 'multipart/related; type="application/dicom"' } });
    expect(res.headers.get('content-type')).toMatch(/^multipart\/related; type="application\/dicom"/);
    const [part] = await multipartParts(res);
    expect(parseP10(part!.body).sopInstanceUID).toBe(ids(mr[0]!).sop);
    const refused = await c.fetch(instancePath(mr[0]!), { headers: { accept: 'application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50' } });
    expect(refused.status).toBe(406);
    expect((await c.fetch(`/datastore/${ds}/studies/${studyA}/series/${ids(mr[0]!).series}/instances/1.2.3`)).status).toBe(404);
  });
});
