/**
 * A hostile backend: a proxy in front of the real local service that injects faults on the routes a test names
 * (429/500 bursts, answers that never come, connection resets, truncated bodies, wrong content types, a gzip bomb as
 * metadata, a huge JSON body, a malformed frame). The MCP server must retry per the AWS SDK's policy, honour
 * cancellation and its own timeouts, read no more than its limits allow, and answer with a clear error.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { loadConfig } from '../../src/config.js';
import { createServer as createMcpServer } from '../../src/server.js';
import { capturedAudit, textOf } from '../helpers/mcp.js';
import { startTestService, type TestService, waitFor } from '../helpers/local.js';

type Fault = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Forwards to the local service unless a fault claims the request. */
class HostileBackend {
  private server!: Server;
  private faults: Array<{ route: RegExp; fault: Fault; times: number }> = [];
  /** `METHOD path` of every request received, in order. */
  readonly seen: string[] = [];
  /** Requests whose client went away before the answer was complete. */
  closedEarly = 0;
  endpoint = '';

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      res.on('close', () => {
        if (!res.writableFinished) this.closedEarly++;
      });
      const index = this.faults.findIndex((f) => f.route.test(req.url ?? '') && f.times > 0);
      if (index < 0) return this.forward(req, res);
      const entry = this.faults[index]!;
      entry.times--;
      void Promise.resolve(entry.fault(req, res)).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next `times` requests whose path matches `route` get `fault`. */
  inject(route: RegExp, fault: Fault, times = Number.POSITIVE_INFINITY): void {
    this.faults.push({ route, fault, times });
  }

  reset(): void {
    this.faults = [];
    this.seen.length = 0;
    this.closedEarly = 0;
  }

  requests(route: RegExp): number {
    return this.seen.filter((s) => route.test(s)).length;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(this.upstream);
    // The Host header is forwarded as signed; the local service checks the signature, not its own address.
    const upstream = request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const awsError = (status: number, type: string, message: string): Fault => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': `hostile-${status}` });
  res.end(JSON.stringify({ message }));
};
const hang: Fault = () => undefined;

let local: TestService;
let hostile: HostileBackend;
let mcp: Client;
let closeMcp: () => Promise<void>;
let ds: string;
let imageSetId: string;
let frameId: string;
const MAX_RESPONSE = 8 * 1024 * 1024;
const MAX_METADATA = 4 * 1024 * 1024;

beforeAll(async () => {
  local = await startTestService({ seedDemo: true });
  hostile = new HostileBackend(local.service.endpoint);
  await hostile.start();
  const config = loadConfig(
    { backend: 'aws', region: 'us-east-1', requestTimeoutSeconds: '1', maxResponseBytes: String(MAX_RESPONSE), maxMetadataBytes: String(MAX_METADATA) },
    {},
  );
  const sdk = createMedicalImagingClient(config, { endpoint: hostile.endpoint, credentials: local.service.credentials });
  const handle = createMcpServer(config, { client: sdk, backendDescription: 'a hostile proxy', audit: capturedAudit().audit });
  const [a, b] = InMemoryTransport.createLinkedPair();
  mcp = new Client({ name: 'hostile-test', version: '0' });
  await Promise.all([handle.server.connect(b), mcp.connect(a)]);
  closeMcp = async () => {
    await mcp.close();
    await handle.close();
    sdk.destroy();
  };
  ds = local.service.demoDatastoreId!;
  const found = await call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0001' });
  imageSetId = (found.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;
  const summary = await call('get_image_set_metadata', { datastore_id: ds, image_set_id: imageSetId });
  frameId = (summary.structuredContent as { instances: Array<{ frame_ids: string[] }> }).instances[0]!.frame_ids[0]!;
}, 120_000);
afterEach(() => hostile.reset());
afterAll(async () => {
  await closeMcp?.();
  await hostile?.stop();
  await local?.stop();
});

const call = (name: string, args: Record<string, unknown> = {}, options: { signal?: AbortSignal } = {}) =>
  mcp.callTool({ name, arguments: args }, undefined, options) as Promise<CallToolResult>;

/** An isError result whose text names the error and a next step, without a stack trace. */
function expectClearError(result: CallToolResult, name: RegExp) {
  expect(result.isError, textOf(result)).toBe(true);
  const text = textOf(result);
  if (process.env.HEALTHIMAGING_SHOW_ERRORS) console.log(text);
  expect(text).toMatch(name);
  expect(text).toMatch(/\nNext step: /);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text.length).toBeLessThan(2000);
}

const LIST = /^GET \/datastore(\?|$)/;

describe('retries per the SDK policy', () => {
  it('rides out a burst of 429s and 500s shorter than the retry budget', async () => {
    hostile.inject(/^\/datastore(\?|$)/, awsError(429, 'ThrottlingException', 'Rate exceeded'), 1);
    hostile.inject(/^\/datastore(\?|$)/, awsError(500, 'InternalServerException', 'boom'), 1);
    const result = await call('list_datastores');
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toContain(ds);
    // Two failures, then the real answer: the standard policy's three attempts.
    expect(hostile.requests(LIST)).toBe(3);
  });

  it('gives up after three attempts of a longer burst, naming the error and the request ID', async () => {
    hostile.inject(/^\/datastore(\?|$)/, awsError(500, 'InternalServerException', 'The hostile backend failed.'));
    const result = await call('list_datastores');
    expectClearError(result, /^InternalServerException: The hostile backend failed\./);
    expect(textOf(result)).toContain('AWS request ID: hostile-500');
    expect(hostile.requests(LIST)).toBe(3);
  });

  it('does not retry a client error', async () => {
    hostile.inject(/^\/datastore\//, awsError(400, 'ValidationException', 'hostile says no'));
    expectClearError(await call('get_datastore', { datastore_id: ds }), /^ValidationException: hostile says no/);
    expect(hostile.requests(/^GET \/datastore\//)).toBe(1);
  });
});

describe('timeouts and cancellation', () => {
  it('fails a backend that never answers with TimeoutError after the configured timeout and retries', async () => {
    hostile.inject(/^\/datastore(\?|$)/, hang);
    const result = await call('list_datastores');
    expectClearError(result, /^TimeoutError: /);
    expect(hostile.requests(LIST)).toBe(3);
    await waitFor(async () => hostile.closedEarly, (n) => n === 3, 10_000, 'every hanging request to be closed by the client');
  });

  it('cuts the backend request when the MCP client cancels the call', async () => {
    // A slow answer: headers at once, then nothing; the request timeout alone would not end it for a while.
    hostile.inject(/getImageSetMetadata/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      res.write(Buffer.from([0x1f, 0x8b]));
    });
    const abort = new AbortController();
    const pending = call('get_image_set_metadata', { datastore_id: ds, image_set_id: imageSetId }, { signal: abort.signal });
    await waitFor(async () => hostile.requests(/getImageSetMetadata/), (n) => n === 1, 10_000, 'the backend request');
    abort.abort('the user changed their mind');
    await expect(pending).rejects.toThrow();
    await waitFor(async () => hostile.closedEarly, (n) => n === 1, 10_000, 'the backend request to be closed');
    // The session goes on.
    expect((await call('list_datastores')).isError).toBeFalsy();
  });
});

describe('broken answers', () => {
  it('answers connection resets and truncated bodies with a clear error after retrying', async () => {
    hostile.inject(/^\/datastore(\?|$)/, (req) => void req.socket.destroy());
    expectClearError(await call('list_datastores'), /^ConnectionLost: /);
    expect(hostile.requests(LIST)).toBe(3);
    hostile.reset();

    hostile.inject(/^\/datastore\//, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      res.write('{"datastoreProperties": {"datastoreId": "');
      setTimeout(() => res.destroy(), 20);
    });
    expectClearError(await call('get_datastore', { datastore_id: ds }), /^ConnectionLost: /);
  });

  it('answers a wrong content type and a body that is not JSON with a clear error', async () => {
    hostile.inject(/^\/datastore(\?|$)/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Captive portal: please log in</body></html>');
    });
    expectClearError(await call('list_datastores'), /^InvalidBackendResponse: .*HTTP 200 \(text\/html\)/);
    hostile.reset();
    hostile.inject(/^\/datastore\//, (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    });
    expectClearError(await call('get_datastore', { datastore_id: ds }), /^InvalidBackendResponse: .*HTTP 502/);
  });

  it('refuses a gzip bomb as metadata without inflating it', async () => {
    // 1 GiB of zeros in about 1 MB: 100 gzip members of 10 MiB each (a valid multi-member gzip stream).
    const member = gzipSync(Buffer.alloc(10 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 100 }, () => member));
    hostile.inject(/getImageSetMetadata/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const result = await call('get_image_set_metadata', { datastore_id: ds, image_set_id: imageSetId });
    expectClearError(result, /^MetadataTooLargeError: .*4194304 bytes/);
    // Inflating stopped at the limit: the heap grew by no more than a few times the 4 MiB limit, not by 1 GiB.
    const grew = process.memoryUsage().heapUsed - heapBefore;
    console.log(`gzip bomb: ${bomb.length} bytes inflating to 1 GiB; heap grew ${(grew / 2 ** 20).toFixed(1)} MiB`);
    expect(grew).toBeLessThan(64 * 1024 * 1024);

    hostile.reset();
    hostile.inject(/getImageSetMetadata/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(gzipSync('{"not": "a metadata document"').subarray(0, 20));
    });
    expectClearError(await call('get_image_set_metadata', { datastore_id: ds, image_set_id: imageSetId }), /^InvalidBackendResponse: .*gzip/);
  });

  it('stops reading a huge JSON answer at --max-response-bytes, declared or streamed', async () => {
    hostile.inject(/^\/datastore(\?|$)/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 31) });
      res.write('{"datastoreSummaries": [');
    });
    expectClearError(await call('list_datastores'), /^ResponseTooLargeError: .*8388608 bytes/);
    hostile.reset();

    // 200 MiB streamed without a length: the client must hang up once it has read the limit.
    const chunk = Buffer.from(`${JSON.stringify({ datastoreId: 'a'.repeat(32), datastoreName: 'x'.repeat(900) })},`.repeat(64));
    let sent = 0;
    hostile.inject(/^\/datastore(\?|$)/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"datastoreSummaries": [');
      const pump = () => {
        while (sent < 200 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('{}]}');
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const result = await call('list_datastores');
    expectClearError(result, /^ResponseTooLargeError: /);
    await waitFor(async () => hostile.closedEarly, (n) => n >= 1, 10_000, 'the client to hang up');
    // What crossed the wire: the limit plus what socket buffers hold, not 200 MiB.
    // What the backend could hand to its socket (it writes only as the client reads): the limit plus socket buffers.
    console.log(`huge JSON: the backend could send ${(sent / 2 ** 20).toFixed(1)} MiB of 200 MiB before the client hung up`);
    expect(sent).toBeLessThan(MAX_RESPONSE + 16 * 1024 * 1024);
  });

  it('answers a malformed frame with a clear error, and an oversized one with the limit', async () => {
    hostile.inject(/getImageFrame/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jph' });
      res.end(Buffer.from('this is not a JPEG 2000 codestream'));
    });
    const result = await call('get_image_frame', { datastore_id: ds, image_set_id: imageSetId, image_frame_id: frameId });
    expectClearError(result, /^DicomParseError: .*could not be decoded/);
    hostile.reset();
    hostile.inject(/getImageFrame/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(MAX_RESPONSE + 1) });
      res.write(Buffer.alloc(1024));
    });
    expectClearError(await call('get_image_frame', { datastore_id: ds, image_set_id: imageSetId, image_frame_id: frameId }), /^ResponseTooLargeError: /);
  });

  it('still serves normally once the faults stop', async () => {
    const frame = await call('get_image_frame', { datastore_id: ds, image_set_id: imageSetId, image_frame_id: frameId });
    expect(frame.isError, textOf(frame)).toBeFalsy();
    expect(frame.content.some((c) => c.type === 'image')).toBe(true);
  });
});
