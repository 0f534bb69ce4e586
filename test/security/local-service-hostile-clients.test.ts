/**
 * Hostile HTTP clients of the local service: malformed and oversized bodies, path tricks sent raw (no client-side
 * normalisation), a bad SigV4 in every field, replays outside the time window, malformed multipart and DICOM, and a
 * property-based stream of random requests to every route. Every answer is a 4xx with an AWS-shaped error, the
 * service logs no unexpected failure, keeps serving, and its store is unchanged.
 */
import { request } from 'node:http';
import { ListDatastoresCommand } from '@aws-sdk/client-medical-imaging';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctSeriesFiles } from '../helpers/dicom-files.js';
import { REGION, startTestService, type TestService } from '../helpers/local.js';
import { storeSnapshot } from './store-snapshot.js';

let t: TestService;
let ds: string;
let imageSetId: string;
let before: unknown;
const unexpected: string[] = [];

beforeAll(async () => {
  t = await startTestService({ seedDemo: true, log: (m) => m.includes('failed') && unexpected.push(m) });
  ds = t.service.demoDatastoreId!;
  const { SearchImageSetsCommand } = await import('@aws-sdk/client-medical-imaging');
  imageSetId = (await t.client.send(new SearchImageSetsCommand({ datastoreId: ds, searchCriteria: {} }))).imageSetsMetadataSummaries![0]!.imageSetId!;
  before = await storeSnapshot(t.client);
});
afterAll(async () => {
  // Nothing any test here sent may have changed the store, crashed a handler, or stopped the service.
  expect(await storeSnapshot(t.client)).toEqual(before);
  expect(unexpected).toEqual([]);
  await t.stop();
});

interface Raw {
  method?: string;
  /** Sent exactly as given: no URL parsing, no dot-segment removal. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  signingDate?: Date;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  service?: string;
  /** Changes the signed request before it is sent. */
  tamper?: (headers: Record<string, string>) => void;
  unsigned?: boolean;
  /** Send the body with chunked encoding, no Content-Length. */
  chunked?: boolean;
}

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

async function send(raw: Raw, target: TestService = t): Promise<Answer> {
  const url = new URL(target.service.endpoint);
  const body = raw.body === undefined ? Buffer.alloc(0) : Buffer.from(raw.body);
  let headers: Record<string, string> = { host: url.host, ...raw.headers };
  if (!raw.unsigned) {
    const signer = new SignatureV4({
      credentials: raw.credentials ?? target.service.credentials,
      region: raw.region ?? REGION,
      service: raw.service ?? 'medical-imaging',
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign(
      new HttpRequest({ method: raw.method ?? 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: raw.path, query: raw.query ?? {}, headers, body }),
      raw.signingDate ? { signingDate: raw.signingDate } : {},
    );
    headers = { ...(signed.headers as Record<string, string>) };
  }
  raw.tamper?.(headers);
  const qs = raw.query ? `?${new URLSearchParams(raw.query).toString()}` : '';
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: raw.method ?? 'POST', path: raw.path + qs, headers: raw.chunked ? headers : { ...headers, 'content-length': String(body.length) }, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['x-amzn-errortype'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // The service may answer and close before the whole body is written (413); that is a valid answer.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    if (raw.chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

/** A 4xx with an AWS error type and a JSON message that does not echo a stack. */
function expectClientError(answer: Answer, what: string, status?: number) {
  expect(answer.status, `${what}: ${answer.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${what}: ${answer.body.slice(0, 200)}`).toBeLessThan(500);
  if (status) expect(answer.status, what).toBe(status);
  expect(answer.type, what).toMatch(/Exception$/);
  expect(answer.body, what).not.toMatch(/\n\s+at /);
}

describe('bodies', () => {
  it('answers malformed and mistyped JSON with 400 ValidationException', async () => {
    const bodies = ['{', '{"datastoreName":', 'null', '[]', '"x"', '12', '{"datastoreName": 5}', '{"datastoreName": {"$ne": 1}}', '\u0000', '\xff\xfe{}', `${'['.repeat(200_000)}${']'.repeat(200_000)}`];
    for (const body of bodies) expectClientError(await send({ path: '/datastore', body, headers: { 'content-type': 'application/json' } }), `POST /datastore ${body.slice(0, 20)}`, 400);
    const search = await send({ path: `/datastore/${ds}/searchImageSets`, body: '{"filters": "DROP"}' });
    expectClientError(search, 'search with mistyped filters', 400);
  });

  it('answers bodies over the 1 MiB JSON limit with 413, declared or streamed', async () => {
    const big = JSON.stringify({ datastoreName: 'x', tags: { a: 'y'.repeat(1024 * 1024) } });
    expectClientError(await send({ path: '/datastore', body: big }), 'declared', 413);
    expectClientError(await send({ path: '/datastore', body: big, chunked: true }), 'chunked', 413);
    // Still serving on a fresh connection.
    expect((await t.client.send(new ListDatastoresCommand({}))).datastoreSummaries!.length).toBeGreaterThan(0);
  });
});

describe('paths', () => {
  it('answers path tricks with 4xx and never reaches outside the API', async () => {
    const tricks = [
      `/datastore/..`,
      `/datastore/../datastore`,
      `/datastore/%2E%2E`,
      `/datastore/${ds}%2F..%2F..`,
      `/datastore/${ds}/..%2F..%2F..%2Fetc%2Fpasswd`,
      `/datastore/%252e%252e%252f`,
      `/datastore/%00`,
      `/datastore/%ZZ`,
      `/datastore/${ds}%00`,
      `//datastore`,
      `/datastore//`,
      `/datastore/${ds.toUpperCase()}`,
      `/datastore/${ds}/imageSet/..%2F..%2F${imageSetId}/getImageSet`,
      `/datastore/${ds}/imageSet/${imageSetId}%2F..%2F..%2F..%2Fstore/getImageSetMetadata`,
      `/tags/${encodeURIComponent(`arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}/../../..`)}`,
      `/tags/..%2F..%2F..%2F`,
      `/getDICOMImportJob/datastore/${ds}/job/..%2F..%2F..%2Fjobs`,
      `/datastore/${ds}/studies/..%2F..%2F/series/x/instances/y`,
      `/datastore/${ds}/studies/1.2/series/1.3/instances/%2E%2E%2F%2E%2E%2F/frames/1`,
      `/${'a/'.repeat(2000)}`,
    ];
    for (const path of tricks) {
      for (const method of ['GET', 'POST', 'DELETE']) expectClientError(await send({ method, path, body: method === 'POST' ? '{}' : '' }), `${method} ${path}`);
    }
  });
});

describe('SigV4', () => {
  const body = JSON.stringify({ datastoreName: 'must-not-exist' });
  const setAuth = (fn: (auth: string) => string) => (h: Record<string, string>) => void (h.authorization = fn(h.authorization!));

  it('refuses a bad value in every field of the signature with 403', async () => {
    const cases: Array<[string, Partial<Raw>]> = [
      ['no Authorization', { unsigned: true }],
      ['algorithm', { tamper: setAuth((a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1')) }],
      ['access key', { credentials: { accessKeyId: 'AKIAEVIL', secretAccessKey: t.service.credentials.secretAccessKey } }],
      ['secret', { credentials: { ...t.service.credentials, secretAccessKey: 'wrong' } }],
      ['scope date', { tamper: setAuth((a) => a.replace(/\/\d{8}\//, '/19990101/')) }],
      ['scope region (signed for another region, then relabelled)', { tamper: setAuth((a) => a.replace(`/${REGION}/`, '/eu-west-1/')) }],
      ['scope service', { service: 's3' }],
      ['scope terminator', { tamper: setAuth((a) => a.replace('aws4_request', 'aws4_reqest')) }],
      ['credential with extra parts', { tamper: setAuth((a) => a.replace('aws4_request', 'aws4_request/x')) }],
      ['SignedHeaders without host', { tamper: setAuth((a) => a.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=x-amz-date')) }],
      ['SignedHeaders with an unsent header', { tamper: setAuth((a) => a.replace(/SignedHeaders=/, 'SignedHeaders=x-evil;')) }],
      ['signature one digit off', { tamper: setAuth((a) => a.replace(/Signature=(.)/, (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`)) }],
      ['signature truncated', { tamper: setAuth((a) => a.slice(0, -2)) }],
      ['signature not hex', { tamper: setAuth((a) => a.replace(/Signature=.{4}/, 'Signature=ZZZZ')) }],
      ['signature empty', { tamper: setAuth((a) => a.replace(/Signature=.*/, 'Signature=')) }],
      ['X-Amz-Date malformed', { tamper: (h) => void (h['x-amz-date'] = '2024-01-01T00:00:00Z') }],
      ['X-Amz-Date missing', { tamper: (h) => void delete h['x-amz-date'] }],
      ['X-Amz-Date changed by a second', { tamper: (h) => void (h['x-amz-date'] = h['x-amz-date']!.replace(/\d(?=Z$)/, (d) => String((Number(d) + 1) % 10))) }],
      ['payload hash not hex', { tamper: (h) => void (h['x-amz-content-sha256'] = 'not-a-hash') }],
      ['payload hash of another body', { tamper: (h) => void (h['x-amz-content-sha256'] = 'a'.repeat(64)) }],
      ['Host changed', { tamper: (h) => void (h.host = 'evil.example:80') }],
      ['presigned query instead of a header', { unsigned: true, query: { 'X-Amz-Signature': 'a'.repeat(64), 'X-Amz-Credential': 'x' } }],
    ];
    for (const [what, options] of cases) {
      const answer = await send({ path: '/datastore', body, headers: { 'content-type': 'application/json' }, ...options });
      expectClientError(answer, what, 403);
    }
    // The method, path and query are signed too.
    const signedGet = (tamper: (h: Record<string, string>) => void, query = { maxResults: '1' }) => send({ method: 'GET', path: '/datastore', query, tamper });
    expect((await signedGet(() => undefined)).status).toBe(200);
    // The method, path and query are part of what is signed: a signature moved to another request is refused.
    let stolen = '';
    await signedGet((h) => void (stolen = h.authorization!));
    const date = () => new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    for (const [what, raw] of [
      ['method', { method: 'DELETE', path: `/datastore/${ds}` }],
      ['query', { method: 'GET', path: '/datastore', query: { maxResults: '2' } }],
      ['path', { method: 'GET', path: `/datastore/${ds}` }],
    ] as Array<[string, Raw]>) {
      const answer = await send({ ...raw, tamper: (h) => void ((h.authorization = stolen), (h['x-amz-date'] = date())) });
      expectClientError(answer, `signature of another ${what}`, 403);
    }
  });

  it('refuses a request replayed outside the 15-minute window, either side, and accepts it inside', async () => {
    for (const minutes of [-16, -60 * 24, 16, 60 * 24 * 365]) {
      const answer = await send({ path: '/datastore', body, signingDate: new Date(Date.now() + minutes * 60_000) });
      expectClientError(answer, `signed ${minutes} min away`, 403);
      expect(answer.body).toMatch(/expired|window/i);
    }
    // The same read, signed 14 minutes ago, is still inside the window (AWS allows the same skew).
    const inside = await send({ method: 'GET', path: '/datastore', signingDate: new Date(Date.now() - 14 * 60_000) });
    expect(inside.status).toBe(200);
  });
});

describe('DICOMweb STOW-RS', () => {
  const boundary = 'hostile-boundary';
  const multipart = (...parts: Buffer[]) =>
    Buffer.concat([...parts.flatMap((p) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
  const stow = (body: Buffer, contentType = `multipart/related; type="application/dicom"; boundary=${boundary}`) =>
    send({ path: `/datastore/${ds}/studies`, body, headers: { 'content-type': contentType, accept: 'application/dicom+json' } });

  it('refuses malformed multipart bodies with 4xx', async () => {
    const file = Buffer.from(Object.values(ctSeriesFiles({ slices: 1, size: 16, seed: 99 }))[0]!);
    const bodies: Array<[string, Buffer, string?]> = [
      ['empty body', Buffer.alloc(0)],
      ['no parts', Buffer.from(`--${boundary}--\r\n`)],
      ['only a preamble', Buffer.from('hello')],
      ['wrong boundary', multipart(file), 'multipart/related; type="application/dicom"; boundary=other'],
      ['boundary longer than RFC 2046 allows', multipart(file), `multipart/related; type="application/dicom"; boundary=${'b'.repeat(100)}`],
      ['empty boundary', multipart(file), 'multipart/related; type="application/dicom"; boundary='],
      ['unterminated', multipart(file).subarray(0, -`--${boundary}--\r\n`.length)],
      ['truncated in the middle of a part', multipart(file).subarray(0, 200)],
      ['part headers without a blank line', Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n${'x'.repeat(100)}`)],
      ['part header block of 1 MB', Buffer.from(`--${boundary}\r\nX: ${'y'.repeat(1024 * 1024)}\r\n\r\nabc\r\n--${boundary}--\r\n`)],
    ];
    for (const [what, body, contentType] of bodies) {
      const answer = await stow(body, contentType);
      expect(answer.status, `${what}: ${answer.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, what).toBeLessThan(500);
    }
  });

  it('stores no malformed DICOM: truncated, corrupted, lying lengths, not DICOM at all', async () => {
    const file = Buffer.from(Object.values(ctSeriesFiles({ slices: 1, size: 16, seed: 98 }))[0]!);
    const withLength = (offsetOfValue: number) => {
      const copy = Buffer.from(file);
      copy.writeUInt32LE(0xfffffff0, offsetOfValue);
      return copy;
    };
    const variants: Array<[string, Buffer]> = [
      ...[0.05, 0.1, 0.2, 0.5, 0.9, 0.99].map((f) => [`truncated at ${f * 100}%`, file.subarray(0, Math.floor(file.length * f))] as [string, Buffer]),
      ['preamble only', file.subarray(0, 132)],
      ['DICM then garbage', Buffer.concat([file.subarray(0, 132), Buffer.alloc(500, 0xff)])],
      ['meta group length lying', withLength(132 + 8)],
      ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
      ['a JSON document', Buffer.from('{"00100010": {"vr": "PN"}}')],
    ];
    for (const [what, bytes] of variants) {
      const answer = await stow(multipart(bytes));
      // STOW-RS reports per-instance failures in a 409 (nothing stored); a 400 refuses the request outright.
      expect([400, 409, 413], `${what}: ${answer.status} ${answer.body.slice(0, 300)}`).toContain(answer.status);
    }
  });
});

describe('random requests', () => {
  // Some random requests are valid writes (DeleteImageSet has no body; CreateDatastore needs no name), so they go to
  // a service of their own; what is checked is that nothing fails on the service's side.
  let own: TestService;
  const ownErrors: string[] = [];
  beforeAll(async () => {
    own = await startTestService({ seedDemo: true, log: (m) => m.includes('failed') && ownErrors.push(m) });
  });
  afterAll(async () => {
    expect(ownErrors).toEqual([]);
    await own.stop();
  });

  it('answers 500 random requests to every route without a 5xx', async () => {
    const ds = own.service.demoDatastoreId!;
    const { SearchImageSetsCommand } = await import('@aws-sdk/client-medical-imaging');
    const imageSetId = (await own.client.send(new SearchImageSetsCommand({ datastoreId: ds, searchCriteria: {} }))).imageSetsMetadataSummaries![0]!.imageSetId!;
    const templates = [
      'POST /datastore',
      'GET /datastore/{ds}',
      'DELETE /datastore/{ds}',
      'POST /datastore/{ds}/searchImageSets',
      'POST /datastore/{ds}/imageSet/{is}/getImageSet',
      'POST /datastore/{ds}/imageSet/{is}/getImageSetMetadata',
      'POST /datastore/{ds}/imageSet/{is}/getImageFrame',
      'POST /datastore/{ds}/imageSet/{is}/listImageSetVersions',
      'POST /datastore/{ds}/imageSet/{is}/updateImageSetMetadata',
      'POST /datastore/{ds}/imageSet/{is}/copyImageSet',
      'POST /datastore/{ds}/imageSet/{is}/deleteImageSet',
      'POST /startDICOMImportJob/datastore/{ds}',
      'GET /listDICOMImportJobs/datastore/{ds}',
      'POST /tags/{arn}',
      'DELETE /tags/{arn}',
      'GET /datastore/{ds}/studies',
      'POST /datastore/{ds}/studies',
    ];
    const segment = fc.oneof(fc.constant('{ds}'), fc.constant('{is}'), fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constantFrom('..', '%2E%2E', '%2F', '%252F', '%00', '%', ''));
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.record({ latestVersionId: fc.string(), updateImageSetMetadataUpdates: fc.jsonValue({ maxDepth: 2 }), copyImageSetInformation: fc.jsonValue({ maxDepth: 2 }), searchCriteria: fc.jsonValue({ maxDepth: 2 }), tags: fc.jsonValue({ maxDepth: 1 }), tagKeys: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    );
    const arn = encodeURIComponent(`arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}`);
    let count = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...templates), fc.option(segment, { nil: undefined }), body, fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 }), { maxKeys: 3 }), async (template, swap, payload, query) => {
        const [method, pathTemplate] = template.split(' ') as [string, string];
        let path = pathTemplate.replace('{ds}', ds).replace('{is}', imageSetId).replace('{arn}', arn);
        if (swap !== undefined) {
          const parts = path.split('/');
          parts[1 + (payload.length % (parts.length - 1))] = swap.replace('{ds}', ds).replace('{is}', imageSetId);
          path = parts.join('/');
        }
        count++;
        const answer = await send({ method, path, body: method === 'GET' ? '' : payload, query, headers: { 'content-type': 'application/json' } }, own);
        // A well-formed read may succeed; nothing may fail on the server's side.
        expect(answer.status, `${method} ${path} ${payload.slice(0, 100)} → ${answer.body.slice(0, 200)}`).toBeLessThan(500);
        if (answer.status >= 400) expect(answer.type).toMatch(/Exception$/);
      }),
      { numRuns: 500, seed: 1010 },
    );
    expect(count).toBe(500);
  });
});
