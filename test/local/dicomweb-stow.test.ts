/**
 * STOW-RS against the local service: the AWS documentation's curl example (an independent SigV4 signer, with the
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD payload hash and a raw body), a two-file multipart body built by a shell script,
 * and each way a request or an instance can fail. Stored instances are checked through the cloud-native API (the
 * real AWS SDK), which shows they went through the same organisation and frame storage as import jobs.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { GetImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { attributesOf, ctSeriesFiles, withAttributes } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries } from '../helpers/import.js';
import { REGION, startTestService, tempDir, type TestService } from '../helpers/local.js';
import { DOC_CURL, MULTIPART_SCRIPT } from '../helpers/stow-curl.js';
import { DicomwebClient, first, type DicomJson } from './dicomweb-client.js';

const run = promisify(execFile);

const REFERENCED_SOP_SEQUENCE = '00081199';
const FAILED_SOP_SEQUENCE = '00081198';
const REFERENCED_SOP_INSTANCE_UID = '00081155';
const RETRIEVE_URL = '00081190';
const FAILURE_REASON = '00081197';

let t: TestService;
let client: DicomwebClient;
let ds: string;
let dir: string;

beforeAll(async () => {
  t = await startTestService();
  client = new DicomwebClient(t.service.endpoint, t.service.credentials);
  ds = await createActiveDatastore(t.client, 'stow');
  dir = tempDir('himcp-stow-');
});
afterAll(async () => {
  await t.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

const uids = (p10: Uint8Array) => {
  const a = attributesOf(p10);
  return { study: String(a.StudyInstanceUID), series: String(a.SeriesInstanceUID), sop: String(a.SOPInstanceUID) };
};
const items = (body: DicomJson | undefined, tag: string) => (body?.[tag]?.Value ?? []) as DicomJson[];
const storedSops = (body: DicomJson | undefined) => items(body, REFERENCED_SOP_SEQUENCE).map((i) => first(i, REFERENCED_SOP_INSTANCE_UID));

/** A fresh series of `slices` instances: each test stores its own so they do not interfere. */
let seed = 100;
const freshSeries = (slices = 2, options: { studyInstanceUID?: string } = {}) => Object.values(ctSeriesFiles({ slices, seed: seed++, size: 32, ...options }));

async function instanceCount(study: string): Promise<number> {
  const res = await client.json(`/datastore/${ds}/studies/${study}/instances`);
  return res.status === 204 ? 0 : res.body!.length;
}

/** The environment the AWS documentation's examples expect. */
function docEnv(secret = t.service.credentials.secretAccessKey) {
  return {
    ...process.env,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: t.service.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_SESSION_TOKEN: '',
    ENDPOINT: t.service.endpoint,
    DATASTORE_ID: ds,
  };
}

async function curlStore(filename: string, contentType: string, env = docEnv()): Promise<{ status: number; body: DicomJson }> {
  const { stdout } = await run('bash', ['-c', DOC_CURL], { env: { ...env, FILENAME: filename, CONTENT_TYPE: contentType } });
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n') || '{}') as DicomJson };
}

describe('STOW-RS with curl, as the AWS documentation shows', () => {
  it('stores a single Part 10 file (raw body, STREAMING-AWS4-HMAC-SHA256-PAYLOAD signed by curl --aws-sigv4)', async () => {
    const [file] = freshSeries(1);
    const id = uids(file!);
    const filename = path.join(dir, 'single.dcm');
    await fs.writeFile(filename, file!);

    const { status, body } = await curlStore(filename, 'application/dicom');
    expect(status).toBe(200);
    expect(storedSops(body)).toEqual([id.sop]);
    expect(first(body, RETRIEVE_URL)).toBe(`${t.service.endpoint}/datastore/${ds}/studies/${id.study}`);
    expect(first(items(body, REFERENCED_SOP_SEQUENCE)[0], RETRIEVE_URL)).toBe(`${t.service.endpoint}/datastore/${ds}/studies/${id.study}/series/${id.series}/instances/${id.sop}`);
    expect(body[FAILED_SOP_SEQUENCE]).toBeUndefined();

    // The import path: a primary image set holding the instance, frames stored as HTJ2K.
    const sets = await imageSetsOfSeries(t.client, ds, id.series);
    expect(sets).toHaveLength(1);
    expect(sets[0]!.isPrimary).toBe(true);
    const res = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: sets[0]!.imageSetId }));
    const doc = JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString()) as ImageSetMetadataDocument;
    const instance = doc.Study.Series[id.series]!.Instances[id.sop]!;
    expect(instance.StoredTransferSyntaxUID).toBe('1.2.840.10008.1.2.4.202');
    expect(instance.ImageFrames).toHaveLength(1);
  });

  it('stores a two-file multipart body built by a shell script and sent with the same curl command', async () => {
    const files = freshSeries(2);
    const names = await Promise.all(
      files.map(async (bytes, i) => {
        const name = path.join(dir, `multi-${i}.dcm`);
        await fs.writeFile(name, bytes);
        return name;
      }),
    );
    const script = `${MULTIPART_SCRIPT}\n${DOC_CURL}`;
    const { stdout } = await run('bash', ['-c', script, 'stow', ...names], { env: { ...docEnv(), OUT: path.join(dir, 'body.multipart') } });
    const lines = stdout.trimEnd().split('\n');
    expect(lines.pop()).toBe('200');
    const body = JSON.parse(lines.join('\n')) as DicomJson;
    expect(storedSops(body).sort()).toEqual(files.map((f) => uids(f).sop).sort());
    expect(await instanceCount(uids(files[0]!).study)).toBe(2);
    // Both instances of the series went to one primary image set, as an import job would place them.
    expect(await imageSetsOfSeries(t.client, ds, uids(files[0]!).series)).toMatchObject([{ isPrimary: true, version: 1 }]);
  });

  it('answers 403 to curl signing with the wrong secret, and stores nothing', async () => {
    const [file] = freshSeries(1);
    const filename = path.join(dir, 'wrong-secret.dcm');
    await fs.writeFile(filename, file!);
    const { status } = await curlStore(filename, 'application/dicom', docEnv('not-the-secret'));
    expect(status).toBe(403);
    expect(await instanceCount(uids(file!).study)).toBe(0);
  });
});

describe('STOW-RS outcomes per instance', () => {
  it('StoreDICOMStudy fails instances of another study with reason 0xA900 and stores the rest (202)', async () => {
    const own = freshSeries(2);
    const [other] = freshSeries(1);
    const study = uids(own[0]!).study;
    const res = await client.store(ds, [own[0]!, other!, own[1]!], study);
    expect(res.status).toBe(202);
    expect(storedSops(res.body).sort()).toEqual(own.map((f) => uids(f).sop).sort());
    const [failure] = items(res.body, FAILED_SOP_SEQUENCE);
    expect(first(failure, REFERENCED_SOP_INSTANCE_UID)).toBe(uids(other!).sop);
    expect(first(failure, FAILURE_REASON)).toBe(0xa900);
    expect(res.response.headers.get('warning')).toContain(`belongs to study ${uids(other!).study}, not to study ${study}`);
    expect(await instanceCount(study)).toBe(2);
    expect(await instanceCount(uids(other!).study)).toBe(0);
  });

  it('answers 409 when every instance is of another study than the one addressed', async () => {
    const [file] = freshSeries(1);
    const res = await client.store(ds, [file!], '1.2.3.4');
    expect(res.status).toBe(409);
    expect(items(res.body, FAILED_SOP_SEQUENCE)).toHaveLength(1);
    expect(res.body![REFERENCED_SOP_SEQUENCE]).toBeUndefined();
    expect(await instanceCount(uids(file!).study)).toBe(0);
  });

  it('fails a part that is not DICOM with reason 0xC000 (202), and a lone non-DICOM body with 409', async () => {
    const [file] = freshSeries(1);
    const junk = new TextEncoder().encode('this is not a DICOM file');
    const res = await client.store(ds, [junk, file!]);
    expect(res.status).toBe(202);
    expect(storedSops(res.body)).toEqual([uids(file!).sop]);
    const [failure] = items(res.body, FAILED_SOP_SEQUENCE);
    expect(first(failure, FAILURE_REASON)).toBe(0xc000);
    expect(failure![REFERENCED_SOP_INSTANCE_UID]).toEqual({ vr: 'UI' });
    expect(res.response.headers.get('warning')).toMatch(/part 1: not a DICOM P10 file/);

    const single = await client.json<DicomJson>(`/datastore/${ds}/studies`, { method: 'POST', headers: { 'content-type': 'application/dicom' }, body: junk });
    expect(single.status).toBe(409);
    expect(first(items(single.body, FAILED_SOP_SEQUENCE)[0], FAILURE_REASON)).toBe(0xc000);
  });

  it('fails a second copy of an instance in the same request, storing the first', async () => {
    const [file] = freshSeries(1);
    const res = await client.store(ds, [file!, file!]);
    expect(res.status).toBe(202);
    expect(storedSops(res.body)).toEqual([uids(file!).sop]);
    expect(first(items(res.body, FAILED_SOP_SEQUENCE)[0], FAILURE_REASON)).toBe(0x0110);
  });

  it('puts an instance whose attributes conflict with the primary image set into a non-primary one, retrievable with ?imageSetId=', async () => {
    const [original] = freshSeries(1);
    expect((await client.store(ds, [original!])).status).toBe(200);
    const id = uids(original!);
    // Same series, another patient: an import job would create a non-primary image set.
    const conflicting = withAttributes(original!, { PatientID: 'SOMEONE-ELSE', SOPInstanceUID: `${id.sop}.9` });
    const res = await client.store(ds, [conflicting]);
    expect(res.status).toBe(200);
    const url = new URL(String(first(items(res.body, REFERENCED_SOP_SEQUENCE)[0], RETRIEVE_URL)));
    const imageSetId = url.searchParams.get('imageSetId');
    expect(imageSetId).toMatch(/^[0-9a-z]{32}$/);
    const sets = await imageSetsOfSeries(t.client, ds, id.series);
    expect(sets.map((s) => s.isPrimary)).toEqual([true, false]);
    expect(sets[1]!.imageSetId).toBe(imageSetId);

    const metadata = `${url.pathname}/metadata`;
    expect((await client.json(metadata)).status).toBe(404);
    const found = await client.json(metadata, { query: { imageSetId: imageSetId! } });
    expect(found.status).toBe(200);
    expect(first(found.body![0], '00100020')).toBe('SOMEONE-ELSE');
  });
});

describe('STOW-RS requests that fail as a whole', () => {
  it('refuses unsupported media types with 415', async () => {
    const [file] = freshSeries(1);
    for (const contentType of ['application/dicom+json', 'multipart/related; type="application/dicom+xml"; boundary=x', 'text/plain']) {
      const res = await client.json(`/datastore/${ds}/studies`, { method: 'POST', headers: { 'content-type': contentType }, body: file! });
      expect(res.status, contentType).toBe(415);
      expect(res.response.headers.get('x-amzn-errortype')).toBe('UnsupportedMediaTypeException');
    }
    const none = await client.json(`/datastore/${ds}/studies`, { method: 'POST', body: file! });
    expect(none.status).toBe(415);
    expect(await instanceCount(uids(file!).study)).toBe(0);
  });

  it('refuses a malformed multipart body with 400 and stores none of its parts', async () => {
    const [file] = freshSeries(1);
    const unterminated = Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'), file!, Buffer.from('\r\n--b\r\nContent-Type: application/dicom\r\n\r\n')]);
    const res = await client.json(`/datastore/${ds}/studies`, { method: 'POST', headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=b' }, body: unterminated });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ message: expect.stringMatching(/closing boundary/) });
    expect(await instanceCount(uids(file!).study)).toBe(0);

    const noBoundary = await client.json(`/datastore/${ds}/studies`, { method: 'POST', headers: { 'content-type': 'multipart/related; type="application/dicom"' }, body: file! });
    expect(noBoundary.status).toBe(400);
  });

  it('answers 403 to a body altered after signing (its SHA-256 was signed), and stores nothing', async () => {
    const [file] = freshSeries(1);
    const boundary = 'b';
    const signed = Buffer.concat([Buffer.from(`--${boundary}\r\n\r\n`), file!, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    // One pixel byte changed: same length, still a valid instance; only the payload hash can tell.
    const sent = Buffer.from(signed);
    sent[sent.length - 100]! ^= 0xff;
    const res = await client.json(`/datastore/${ds}/studies`, {
      method: 'POST',
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
      body: signed,
      tamper: (r) => (r.body = sent),
    });
    expect(res.status).toBe(403);
    expect(res.response.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(await instanceCount(uids(file!).study)).toBe(0);
  });

  it('answers 406 when the client accepts no DICOM JSON response', async () => {
    const [file] = freshSeries(1);
    const res = await client.fetch(`/datastore/${ds}/studies`, { method: 'POST', headers: { 'content-type': 'application/dicom', accept: 'application/dicom+xml' }, body: file! });
    expect(res.status).toBe(406);
  });

  it('refuses aws-chunked framing with 400, saying what to send instead', async () => {
    const [file] = freshSeries(1);
    const res = await client.json(`/datastore/${ds}/studies`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom', 'content-encoding': 'aws-chunked' },
      body: file!,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ message: expect.stringContaining('x-amz-decoded-content-length') });
  });

  it('answers 404 for a datastore that does not exist', async () => {
    const [file] = freshSeries(1);
    const res = await client.json(`/datastore/${'0'.repeat(32)}/studies`, { method: 'POST', headers: { 'content-type': 'application/dicom' }, body: file! });
    expect(res.status).toBe(404);
  });
});

describe('STOW-RS size limit (configurable; HealthImaging: 1 GB)', () => {
  let small: TestService;
  let smallClient: DicomwebClient;
  let smallDs: string;
  const LIMIT = 64 * 1024;
  beforeAll(async () => {
    small = await startTestService({ maxStoreBytes: LIMIT });
    smallClient = new DicomwebClient(small.service.endpoint, small.service.credentials);
    smallDs = await createActiveDatastore(small.client, 'small');
  });
  afterAll(async () => small.stop());

  const series = () => Object.values(ctSeriesFiles({ slices: 12, size: 64, seed: seed++ }));
  const countIn = async (study: string) => {
    const res = await smallClient.json(`/datastore/${smallDs}/studies/${study}/instances`);
    return res.status === 204 ? 0 : res.body!.length;
  };

  it('accepts a body within the limit', async () => {
    const files = series().slice(0, 2);
    const res = await smallClient.store(smallDs, files);
    expect(res.status).toBe(200);
  });

  it('refuses a body whose declared length exceeds the limit with 413 before reading it', async () => {
    const files = series();
    const res = await smallClient.store(smallDs, files);
    expect(res.status).toBe(413);
    expect(res.response.headers.get('x-amzn-errortype')).toBe('RequestEntityTooLargeException');
    expect(await countIn(uids(files[0]!).study)).toBe(0);
  });

  it('refuses a streamed body (no Content-Length) with 413 once it passes the limit, and stores none of it', async () => {
    const files = series();
    const boundary = 'streamed';
    const chunks = [
      ...files.flatMap((f) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(f), Buffer.from('\r\n')]),
      Buffer.from(`--${boundary}--\r\n`),
    ];
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBeGreaterThan(LIMIT);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res = await smallClient.fetch(`/datastore/${smallDs}/studies`, {
      method: 'POST',
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
      payloadHash: 'UNSIGNED-PAYLOAD',
      body: stream,
    });
    expect(res.status).toBe(413);
    expect(await countIn(uids(files[0]!).study)).toBe(0);
  });
});
