/**
 * The local service's HTTP plumbing: routing on the raw path, bounded body reads, SigV4 verification before any
 * processing, and responses shaped as AWS sends them (x-amzn-requestid on every response, errors with
 * x-amzn-errortype and a JSON message).
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ServiceError, validationError } from './errors.js';
import { type Credentials, parseQuery, sha256Hex, verifySigV4, type VerifiedIdentity } from './sigv4.js';

export const JSON_BODY_LIMIT = 1024 * 1024;

export interface RequestContext {
  method: string;
  rawPath: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: IncomingMessage['headers'];
  /** The whole body for buffered routes; empty for streaming routes (read `stream` instead). */
  body: Buffer;
  stream: IncomingMessage;
  identity: VerifiedIdentity;
  requestId: string;
  signal: AbortSignal;
}

export type Reply =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | {
      status?: number;
      file: string;
      contentType: string;
      headers?: Record<string, string>;
      /**
       * Asked when the file is gone by the time it is opened: the error that explains it (the resource was deleted
       * meanwhile), or undefined when nothing does, which leaves the failure an internal error (a store that lost a file).
       */
      ifMissing?: () => ServiceError | undefined;
    }
  | { status?: number; body: Buffer | Readable; contentType: string; headers?: Record<string, string> };

export type Handler = (ctx: RequestContext) => Promise<Reply>;

export interface Route {
  method: string;
  /** Path template with `{name}` segments, e.g. `/datastore/{datastoreId}`. */
  path: string;
  handler: Handler;
  /** Streaming routes verify the signature from the declared payload hash and read the body themselves. */
  streaming?: boolean;
}

interface CompiledRoute extends Route {
  segments: string[];
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(route: Route): this {
    this.routes.push({ ...route, segments: route.path.split('/').slice(1) });
    return this;
  }

  match(method: string, rawPath: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
    const segments = rawPath.split('/').slice(1);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const template = route.segments[i]!;
        const actual = segments[i]!;
        if (template.startsWith('{')) params[template.slice(1, -1)] = decodeSegment(actual, template);
        else ok = template === actual;
      }
      if (ok) return { route, params };
    }
    return undefined;
  }
}

function decodeSegment(raw: string, template: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw validationError(`1 validation error detected: Value at '${template.slice(1, -1)}' failed to satisfy constraint: Member must be a valid percent-encoded path segment`);
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new ServiceError('RequestEntityTooLargeException', `Request body of ${declared} bytes exceeds the ${limit} byte limit.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ServiceError('RequestEntityTooLargeException', `Request body exceeds the ${limit} byte limit.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The body of a streaming route, chunk by chunk, checked as it passes: at most `limit` bytes (413 as soon as the
 * declared or the received length says more), the SHA-256 the client signed when it declared one in
 * x-amz-content-sha256 (403 at the end otherwise; the caller must not commit anything before the body is
 * exhausted), and the x-amz-decoded-content-length it declared. `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` as the payload
 * hash is accepted with the raw body, which is what `curl --aws-sigv4` sends; aws-chunked framing is refused.
 */
export async function* streamedBody(ctx: RequestContext, limit: number): AsyncGenerator<Buffer> {
  if (/aws-chunked/i.test(String(ctx.headers['content-encoding'] ?? ''))) {
    throw validationError('Content-Encoding aws-chunked is not supported by the local service: send the raw body, with x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (or UNSIGNED-PAYLOAD, or its SHA-256) and x-amz-decoded-content-length.');
  }
  const decodedLength = lengthHeader(ctx, 'x-amz-decoded-content-length');
  const declared = Math.max(lengthHeader(ctx, 'content-length') ?? 0, decodedLength ?? 0);
  if (declared > limit) throw tooLarge(`Request body of ${declared} bytes exceeds the ${limit} byte limit.`);
  const declaredHash = String(ctx.headers['x-amz-content-sha256'] ?? '');
  const hash = /^[0-9a-f]{64}$/.test(declaredHash) ? createHash('sha256') : undefined;
  let size = 0;
  // Not destroying the request when the consumer stops early keeps the socket usable for the error response.
  for await (const chunk of ctx.stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(`Request body exceeds the ${limit} byte limit.`);
    hash?.update(chunk);
    yield chunk;
  }
  if (hash && hash.digest('hex') !== declaredHash) {
    throw new ServiceError('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed (the body was altered).');
  }
  if (decodedLength !== undefined && decodedLength !== size) {
    throw validationError(`x-amz-decoded-content-length says ${decodedLength} bytes, but the body has ${size}.`);
  }
}

const tooLarge = (message: string) => new ServiceError('RequestEntityTooLargeException', message);

function lengthHeader(ctx: RequestContext, name: string): number | undefined {
  const raw = ctx.headers[name];
  if (raw === undefined) return undefined;
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  if (!Number.isSafeInteger(value) || value < 0) throw validationError(`Header ${name} must be a non-negative integer.`);
  return value;
}

export interface HttpHandlerOptions {
  router: Router;
  credentials: Credentials;
  /** Requests processed at once; more get 429 ThrottlingException, which AWS clients retry with back-off. */
  maxInFlight: number;
  onError?: (err: unknown, requestId: string) => void;
}

/** Builds the node:http request listener of the local service. */
export function createRequestListener(options: HttpHandlerOptions) {
  let inFlight = 0;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = randomUUID();
    res.setHeader('x-amzn-requestid', requestId);
    if (inFlight >= options.maxInFlight) {
      sendError(res, new ServiceError('ThrottlingException', 'Rate exceeded: the local service is processing too many requests; retry with back-off.'), req);
      return;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    handle(req, res, requestId, options).catch((err: unknown) => {
      if (!(err instanceof ServiceError)) options.onError?.(err, requestId);
      sendError(res, err, req);
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, options: HttpHandlerOptions): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const method = req.method ?? 'GET';

  const matched = options.router.match(method, rawPath);
  const streaming = matched?.route.streaming === true;
  const body = streaming ? Buffer.alloc(0) : await readBody(req, JSON_BODY_LIMIT);
  // Authentication comes before routing errors so that unsigned probes learn nothing about the API surface.
  const identity = await verifySigV4(
    { method, host: String(req.headers.host ?? ''), rawPath, rawQuery, headers: req.headers },
    { credentials: options.credentials, bodySha256: streaming ? undefined : sha256Hex(body) },
  );
  if (!matched) throw new ServiceError('UnknownOperationException', `No operation matches ${method} ${rawPath}.`);

  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const reply = await matched.route.handler({
    method,
    rawPath,
    params: matched.params,
    query: parseQuery(rawQuery),
    headers: req.headers,
    body,
    stream: req,
    identity,
    requestId,
    signal: abort.signal,
  });
  await send(res, reply);
}

/** Files up to this size are read whole and sent in one write; larger ones are streamed. */
const SMALL_FILE_BYTES = 1024 * 1024;

async function send(res: ServerResponse, reply: Reply): Promise<void> {
  // Open a file before any header is set, so a missing file is a clean error response. A concurrent deletion can remove
  // the file between the handler's lookup and this open; the route's ifMissing tells that apart from a damaged store.
  const file =
    'file' in reply
      ? await fs.open(reply.file).catch((err: NodeJS.ErrnoException) => {
          throw (err.code === 'ENOENT' && reply.ifMissing?.()) || err;
        })
      : undefined;
  res.statusCode = reply.status ?? 200;
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  // 204 No Content has neither a body nor headers describing one (RFC 9110 §15.3.5).
  if (res.statusCode === 204) {
    await file?.close();
    res.end();
    return;
  }
  if ('json' in reply) {
    const text = JSON.stringify(reply.json);
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(text));
    res.end(text);
    return;
  }
  res.setHeader('content-type', reply.contentType);
  if (file) {
    const { size } = await file.stat();
    res.setHeader('content-length', size);
    if (size <= SMALL_FILE_BYTES) {
      // One read and one write: a frame or a metadata document of a few hundred KB is served in a fraction of the
      // system calls (and event-loop turns) that streaming it in 64 KB pieces takes.
      const bytes = Buffer.allocUnsafe(size);
      try {
        const { bytesRead } = await file.read(bytes, 0, size, 0);
        if (bytesRead !== size) throw new Error(`a stored file changed size while it was read (${bytesRead} of ${size} bytes)`);
      } finally {
        await file.close();
      }
      res.end(bytes);
      return;
    }
    await pipeline(file.createReadStream(), res);
    return;
  }
  if (!('body' in reply)) return;
  if (Buffer.isBuffer(reply.body)) {
    res.setHeader('content-length', reply.body.length);
    res.end(reply.body);
    return;
  }
  await pipeline(reply.body, res);
}

function sendError(res: ServerResponse, err: unknown, req: IncomingMessage): void {
  const error =
    err instanceof ServiceError ? err : new ServiceError('InternalServerException', 'The local service hit an unexpected error; see its log for details.');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ message: error.message });
  res.statusCode = error.status;
  res.setHeader('x-amzn-errortype', error.name);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  // The body of a rejected request may be unread; close the connection instead of draining a large upload.
  if (!req.complete) res.setHeader('connection', 'close');
  res.end(text);
}
