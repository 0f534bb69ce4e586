/**
 * STOW-RS streams: a 200 MB multipart body, generated as a stream, is stored while the process's resident memory
 * grows by less than 64 MB. Client and service share this process, so the measurement bounds both together.
 *
 * The upload goes through node:http, not fetch: Node 20's fetch (undici) keeps every chunk of a ReadableStream
 * request body until the request ends (measured: +200 MB after GC for a 200 MB body against a server in another
 * process), which would measure the client, not the service.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { attributesOf } from '../helpers/dicom-files.js';
import { createActiveDatastore } from '../helpers/import.js';
import { startTestService, type TestService } from '../helpers/local.js';
import { DicomwebClient } from './dicomweb-client.js';

const PARTS = 100;
const SIZE = 1024;
const BUDGET = 64 * 1024 * 1024;

let t: TestService;
let c: DicomwebClient;
let ds: string;
beforeAll(async () => {
  t = await startTestService();
  c = new DicomwebClient(t.service.endpoint, t.service.credentials);
  ds = await createActiveDatastore(t.client, 'memory');
});
afterAll(async () => t.stop());

/** Copies of one 2 MB instance that differ in their SOP Instance UID (same length, so only bytes change). */
function instanceMaker(template: Uint8Array): (n: number) => Buffer {
  const source = Buffer.from(template);
  const needle = Buffer.from(String(attributesOf(template).SOPInstanceUID));
  const offsets: number[] = [];
  for (let at = source.indexOf(needle); at >= 0; at = source.indexOf(needle, at + 1)) offsets.push(at);
  return (n) => {
    const copy = Buffer.from(source);
    const tail = Buffer.from(String(n).padStart(6, '0'));
    for (const at of offsets) tail.copy(copy, at + needle.length - tail.length);
    return copy;
  };
}

/** The multipart body, one part produced each time the socket wants more. */
function* multipartBody(makeInstance: (n: number) => Buffer, count: number, boundary: string): Generator<Buffer> {
  for (let n = 0; n < count; n++) {
    yield Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
    yield makeInstance(n);
    yield Buffer.from('\r\n');
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

async function upload(path: string, headers: Record<string, string>, body: Readable): Promise<{ status: number; text: string; sent: number }> {
  const { url, headers: signed } = await c.sign(path, { method: 'POST', headers, payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' });
  let sent = 0;
  body.on('data', (chunk: Buffer) => (sent += chunk.length));
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: signed }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), sent }));
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

it('stores a 200 MB multipart body with resident memory growing by less than 64 MB', { timeout: 300_000 }, async () => {
  const [template] = syntheticCtSeries({ patientName: 'MEMORY^TEST', patientId: 'MEM-1', slices: 1, rows: SIZE, columns: SIZE, seed: 77 });
  const makeInstance = instanceMaker(template!);
  // Warm up: codecs loaded, their heaps grown to this frame size, the first image set created.
  expect((await c.store(ds, [makeInstance(999_998), makeInstance(999_999)])).status).toBe(200);

  const boundary = 'memory-test-boundary';
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const started = Date.now();
  let res: Awaited<ReturnType<typeof upload>>;
  try {
    res = await upload(
      `/datastore/${ds}/studies`,
      { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
      Readable.from(multipartBody(makeInstance, PARTS, boundary), { objectMode: false }),
    );
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  console.info(`[dicomweb-memory] ${mb(res.sent)} MB in ${PARTS} parts stored in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${mb(baseline)} MB → peak ${mb(peak)} MB (+${mb(peak - baseline)} MB)`);

  expect(res.status, res.text.slice(0, 300)).toBe(200);
  expect(res.sent).toBeGreaterThan(200 * 1024 * 1024);
  expect(peak - baseline).toBeLessThan(BUDGET);
  const study = String(attributesOf(template!).StudyInstanceUID);
  const found = await c.json(`/datastore/${ds}/studies/${study}/instances`);
  expect(found.body).toHaveLength(PARTS + 2);
});
