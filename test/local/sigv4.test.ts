import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateDatastoreCommand, ListDatastoresCommand } from '@aws-sdk/client-medical-imaging';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGION, rejection, sdkClient, startTestService, type TestService } from '../helpers/local.js';

const run = promisify(execFile);
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => t.stop());

interface RawOptions {
  method?: string;
  path?: string;
  body?: string;
  signingDate?: Date;
  service?: string;
  secret?: string;
  headers?: Record<string, string>;
  tamper?: (req: { headers: Record<string, string>; body: string }) => void;
}

/** Signs a request with @smithy/signature-v4 (as the SDK does), optionally tampers with it, and sends it. */
async function signedFetch(options: RawOptions = {}) {
  const url = new URL(t.service.endpoint);
  const body = options.body ?? '';
  const request = new HttpRequest({
    method: options.method ?? 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: options.path ?? '/datastore',
    headers: { host: url.host, 'content-type': 'application/json', ...options.headers },
    body,
  });
  const signer = new SignatureV4({
    credentials: { ...t.service.credentials, ...(options.secret && { secretAccessKey: options.secret }) },
    region: REGION,
    service: options.service ?? 'medical-imaging',
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(request, options.signingDate ? { signingDate: options.signingDate } : {});
  const headers = { ...(signed.headers as Record<string, string>) };
  const sent = { headers, body };
  options.tamper?.(sent);
  delete sent.headers.host;
  const res = await fetch(`${t.service.endpoint}${options.path ?? '/datastore'}`, {
    method: options.method ?? 'POST',
    headers: sent.headers,
    ...(sent.body && { body: sent.body }),
  });
  return { status: res.status, type: res.headers.get('x-amzn-errortype'), requestId: res.headers.get('x-amzn-requestid'), json: (await res.json()) as { message?: string } };
}

const datastoreCount = async () => (await t.client.send(new ListDatastoresCommand({}))).datastoreSummaries!.length;

describe('SigV4 verification', () => {
  it('accepts a correctly signed request and answers with a request ID', async () => {
    const res = await signedFetch({ body: JSON.stringify({ datastoreName: 'signed-ok' }) });
    expect(res.status).toBe(200);
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects unsigned, wrongly signed, tampered, expired and mis-scoped requests with 403, and processes none', async () => {
    const before = await datastoreCount();
    const body = JSON.stringify({ datastoreName: 'should-not-exist' });

    const unsigned = await fetch(`${t.service.endpoint}/datastore`, { method: 'POST', body });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(unsigned.headers.get('x-amzn-requestid')).toBeTruthy();

    const wrongSecret = await signedFetch({ body, secret: 'not-the-secret' });
    expect([wrongSecret.status, wrongSecret.type]).toEqual([403, 'InvalidSignatureException']);

    const tamperedBody = await signedFetch({ body, tamper: (r) => (r.body = JSON.stringify({ datastoreName: 'tampered-name' })) });
    expect([tamperedBody.status, tamperedBody.type]).toEqual([403, 'InvalidSignatureException']);
    expect(tamperedBody.json.message).toMatch(/x-amz-content-sha256|signature/i);

    const tamperedHeader = await signedFetch({ body, tamper: (r) => (r.headers['content-type'] = 'text/plain') });
    expect([tamperedHeader.status, tamperedHeader.type]).toEqual([403, 'InvalidSignatureException']);

    const expired = await signedFetch({ body, signingDate: new Date(Date.now() - 20 * 60_000) });
    expect([expired.status, expired.type]).toEqual([403, 'InvalidSignatureException']);
    expect(expired.json.message).toMatch(/expired/i);

    const future = await signedFetch({ body, signingDate: new Date(Date.now() + 20 * 60_000) });
    expect(future.status).toBe(403);

    const otherService = await signedFetch({ body, service: 's3' });
    expect([otherService.status, otherService.type]).toEqual([403, 'InvalidSignatureException']);

    const dropDate = await signedFetch({ body, tamper: (r) => delete r.headers['x-amz-date'] });
    expect(dropDate.status).toBe(403);

    const badAuth = await signedFetch({ body, tamper: (r) => (r.headers.authorization = 'AWS4-HMAC-SHA256 garbage') });
    expect(badAuth.status).toBe(403);

    const unknownKey = await rejection(sdkClient({ endpoint: t.service.endpoint, credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' } }).send(new ListDatastoresCommand({})));
    expect(unknownKey.name).toBe('UnrecognizedClientException');
    expect(unknownKey.$metadata?.httpStatusCode).toBe(403);

    expect(await datastoreCount()).toBe(before);
  });

  it('accepts UNSIGNED-PAYLOAD and the streaming payload marker as the signed payload hash', async () => {
    for (const marker of ['UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD']) {
      const res = await signedFetch({ method: 'GET', headers: { 'x-amz-content-sha256': marker } });
      expect(res.status, marker).toBe(200);
    }
  });

  it('verifies requests signed by curl --aws-sigv4, an independent signer', async () => {
    const { accessKeyId, secretAccessKey } = t.service.credentials;
    const { stdout } = await run('curl', [
      '-sS',
      '-w',
      '\n%{http_code}',
      '--aws-sigv4',
      `aws:amz:${REGION}:medical-imaging`,
      '--user',
      `${accessKeyId}:${secretAccessKey}`,
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ datastoreName: 'from-curl' }),
      `${t.service.endpoint}/datastore`,
    ]);
    const [body, status] = stdout.trim().split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body!).datastoreStatus).toBe('CREATING');
    const wrong = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--aws-sigv4', `aws:amz:${REGION}:medical-imaging`, '--user', `${accessKeyId}:wrong`, `${t.service.endpoint}/datastore`]);
    expect(wrong.stdout).toBe('403');
  });

  it('signs with any region', async () => {
    const client = sdkClient(t.service, { region: 'eu-west-1' });
    const created = await client.send(new CreateDatastoreCommand({ datastoreName: 'in-eu' }));
    expect(created.datastoreId).toMatch(/^[0-9a-z]{32}$/);
    client.destroy();
  });
});
