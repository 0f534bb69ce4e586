/**
 * A DICOMweb client (STOW-RS, QIDO-RS, WADO-RS) for HealthImaging's DICOMweb API, which no AWS SDK covers, and for
 * any standard DICOMweb server. Requests are signed with SigV4 (service `medical-imaging`) using the HealthImaging
 * SDK client's own credential provider and region, so both APIs act as the same identity.
 *
 * Where requests go (`dicomwebEndpoint`):
 * - `--dicomweb-endpoint-url` when given; otherwise the HealthImaging client's custom endpoint (the local service,
 *   or `--endpoint-url`: a HealthImaging-compatible service serves both APIs); otherwise
 *   `https://dicom-medical-imaging.{region}.amazonaws.com`.
 *
 * How an endpoint URL maps to paths (`dicomwebRoot`):
 * - a URL containing `{datastore_id}` has it replaced by the datastore ID: `https://host/ahi/{datastore_id}`;
 * - a URL without a path (HealthImaging's layout) gets `/datastore/{datastore_id}`;
 * - a URL with any other path is the DICOMweb root itself, the same for every datastore (Orthanc:
 *   `http://host:8042/dicom-web`); the tools still take a datastore ID, which then only selects what
 *   `--datastore-ids` allows.
 *
 * With `--redact-phi`, every DICOM JSON dataset a search or metadata read returns is masked here, as it enters the MCP
 * layer (as guard/redaction.ts does for the SDK client), so no DICOMweb tool can show a value it never received.
 *
 * Store bodies are streamed from the files (never held in memory) and signed as HealthImaging documents it for
 * curl: `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD` with `x-amz-decoded-content-length`.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Config } from '../config.js';
import type { DicomJsonDataset } from '../dicom/dicom-json.js';
import { type DicomJsonDataset as RedactableDataset, type Masker, redactDicomJson } from '../dicom/redact.js';
import { processMasker } from '../guard/redaction.js';
import { closingDelimiter, newBoundary, partClose, partOpening } from '../dicom/multipart.js';
import { GuardError } from '../guard/errors.js';

export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const DATASTORE_PLACEHOLDER = '{datastore_id}';

/** The DICOMweb endpoint for this configuration and HealthImaging client (see the module comment). */
export async function dicomwebEndpoint(config: Config, client: MedicalImagingClient): Promise<string> {
  if (config.dicomwebEndpointUrl) return config.dicomwebEndpointUrl;
  if (client.config.isCustomEndpoint && client.config.endpoint) {
    const e = await client.config.endpoint();
    return `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path === '/' ? '' : e.path}`;
  }
  const region = await client.config.region();
  return `https://dicom-medical-imaging.${region}.amazonaws.com`;
}

/** The DICOMweb root URL (no trailing slash) of `datastoreId` under `endpoint` (see the module comment). */
export function dicomwebRoot(endpoint: string, datastoreId: string): string {
  // The placeholder may arrive percent-encoded when the URL went through a URL parser.
  const templated = endpoint.replace(/%7Bdatastore_id%7D/gi, DATASTORE_PLACEHOLDER);
  if (templated.includes(DATASTORE_PLACEHOLDER)) return templated.replaceAll(DATASTORE_PLACEHOLDER, datastoreId).replace(/\/+$/, '');
  const url = new URL(endpoint);
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return url.pathname === '/' || url.pathname === '' ? `${base}/datastore/${datastoreId}` : base;
}

/** Whether `endpoint` follows HealthImaging's layout (`/datastore/{id}`, or a template), rather than a plain DICOMweb root. */
export function isHealthImagingLayout(endpoint: string): boolean {
  if (/\{datastore_id\}|%7Bdatastore_id%7D/i.test(endpoint)) return true;
  const { pathname } = new URL(endpoint);
  return pathname === '/' || pathname === '';
}

/**
 * A DICOMweb request the server refused, shaped like an AWS SDK error so that describeError names it: the
 * `x-amzn-errortype` (or the HTTP status), the service's message, the request ID.
 */
export class DicomwebError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  constructor(
    override readonly name: string,
    message: string,
    status: number,
    requestId: string | undefined,
    readonly hint?: string,
  ) {
    super(message);
    this.$metadata = { httpStatusCode: status, ...(requestId && { requestId }) };
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnauthorizedException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  406: 'NotAcceptableException',
  409: 'ConflictException',
  413: 'RequestEntityTooLargeException',
  415: 'UnsupportedMediaTypeException',
  429: 'ThrottlingException',
};

const HINTS: Record<string, string> = {
  InvalidSignatureException: 'The DICOMweb endpoint rejected the request signature: the server\'s AWS credentials or region do not match what the endpoint expects; ask the operator to check them (and --dicomweb-endpoint-url).',
  UnrecognizedClientException: 'The DICOMweb endpoint does not know the server\'s access key; ask the operator to check the AWS credentials.',
  RequestEntityTooLargeException: 'The request is larger than the DICOMweb endpoint accepts: store fewer or smaller files per call.',
  UnsupportedMediaTypeException: 'The DICOMweb endpoint does not accept this content; store DICOM Part 10 files.',
  NotAcceptableException: 'The endpoint cannot return this representation; retry with transfer_syntax "explicit_vr_little_endian".',
  UnauthorizedException: 'The DICOMweb endpoint wants credentials this server does not have; ask the operator to configure them.',
  ResourceNotFoundException: 'Check the datastore ID and the UIDs: search_dicom_studies, search_dicom_series and search_dicom_instances return valid ones.',
};

export interface DicomwebResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  /** Path below the datastore's DICOMweb root, starting with `/` (e.g. `/studies`). */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  /** A streamed body of exactly `bodyLength` bytes, signed with the STREAMING payload header. */
  body?: Readable;
  bodyLength?: number;
  signal?: AbortSignal;
}

export class DicomwebClient {
  private readonly signer: SignatureV4;

  constructor(
    private readonly endpoint: string,
    client: MedicalImagingClient,
    /** `--datastore-ids`: DICOMweb requests are confined like the SDK client's. */
    private readonly allowedDatastores?: readonly string[],
    /** `--redact-phi`: masks what getJson returns. */
    private readonly mask?: Masker,
  ) {
    this.signer = new SignatureV4({
      credentials: client.config.credentials,
      region: client.config.region,
      service: 'medical-imaging',
      sha256: Hash.bind(null, 'sha256'),
    });
  }

  static async forClient(config: Config, client: MedicalImagingClient): Promise<DicomwebClient> {
    return new DicomwebClient(await dicomwebEndpoint(config, client), client, config.datastoreIds, config.redactPhi ? processMasker() : undefined);
  }

  /** Whether the endpoint is laid out as HealthImaging's (so stored instances land in image sets). */
  get healthImagingLayout(): boolean {
    return isHealthImagingLayout(this.endpoint);
  }

  /**
   * The Accept header for one Part 10 instance: HealthImaging documents `application/dicom` (the bare file); the
   * DICOMweb standard's form, which other servers (Orthanc) require, is multipart/related with one part.
   */
  instanceAccept(transferSyntax: string): string {
    return this.healthImagingLayout
      ? `application/dicom; transfer-syntax=${transferSyntax}`
      : `multipart/related; type="application/dicom"; transfer-syntax=${transferSyntax}`;
  }

  /** The URL of `path` under the datastore's root (for messages and RetrieveURL comparisons). */
  url(datastoreId: string, path: string): string {
    return `${dicomwebRoot(this.endpoint, datastoreId)}${path}`;
  }

  /** Sends a signed request; resolves with any response, success or not (see `ok`). */
  async request(datastoreId: string, options: RequestOptions): Promise<DicomwebResponse> {
    this.checkDatastore(datastoreId);
    const url = new URL(this.url(datastoreId, options.path));
    const streaming = options.body !== undefined;
    const request = new HttpRequest({
      method: options.method ?? 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port && { port: Number(url.port) }),
      path: url.pathname,
      query: options.query ?? {},
      headers: {
        host: url.host,
        ...options.headers,
        ...(streaming && {
          'content-length': String(options.bodyLength),
          'x-amz-decoded-content-length': String(options.bodyLength),
          'x-amz-content-sha256': STREAMING_PAYLOAD,
        }),
      },
    });
    const signed = await this.signer.sign(request);
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) for (const v of Array.isArray(value) ? value : [value]) search.append(key, v);
    const qs = search.toString();
    return send(url, `${url.pathname}${qs ? `?${qs}` : ''}`, signed.method, signed.headers as Record<string, string>, options.body, options.signal);
  }

  /** GET DICOM JSON datasets (QIDO-RS results, WADO-RS metadata); an empty list for 204 (no match). */
  async getJson(datastoreId: string, path: string, query: Record<string, string | string[]> = {}, signal?: AbortSignal): Promise<DicomJsonDataset[]> {
    const response = await this.request(datastoreId, { path, query, headers: { accept: 'application/dicom+json' }, ...(signal && { signal }) });
    await ok(response);
    const text = await readText(response.body, 512 * 1024 * 1024);
    if (response.status === 204 || text.trim() === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new DicomwebError('InvalidResponse', `the DICOMweb endpoint answered ${path} with a body that is not JSON`, response.status, requestIdOf(response));
    }
    if (!Array.isArray(parsed)) throw new DicomwebError('InvalidResponse', `the DICOMweb endpoint answered ${path} with JSON that is not a list of datasets`, response.status, requestIdOf(response));
    const datasets = parsed as DicomJsonDataset[];
    const mask = this.mask;
    return mask ? datasets.map((d) => redactDicomJson(d as RedactableDataset, mask) as DicomJsonDataset) : datasets;
  }

  /**
   * STOW-RS of Part 10 instances as one multipart/related body, streamed part by part from `sources` (memory does not
   * grow with the payload). Resolves with the Store Instances Response for 200, 202 and 409 (some or all instances
   * failed: the response says which and why); throws DicomwebError for a refused request.
   */
  async store(datastoreId: string, study: string | undefined, sources: readonly StoreSource[], options: StoreOptions = {}): Promise<StoreResponse> {
    const boundary = newBoundary();
    const headers = { 'Content-Type': 'application/dicom' };
    const openings = sources.map(() => partOpening(boundary, headers));
    const closing = closingDelimiter(boundary);
    const length = sources.reduce((n, s, i) => n + openings[i]!.length + s.size + 2, closing.length);
    const payload = sources.reduce((n, s) => n + s.size, 0);
    async function* body(): AsyncGenerator<Buffer> {
      let sent = 0;
      for (const [i, source] of sources.entries()) {
        yield openings[i]!;
        let read = 0;
        for await (const chunk of source.open() as AsyncIterable<Buffer>) {
          read += chunk.length;
          if (read > source.size) throw new Error(`${source.name} grew while it was being sent`);
          yield chunk;
        }
        if (read !== source.size) throw new Error(`${source.name} changed size while it was being sent (${source.size} → ${read} bytes)`);
        sent += read;
        yield partClose();
        options.onProgress?.(sent, payload, i + 1);
      }
      yield closing;
    }
    const response = await this.request(datastoreId, {
      method: 'POST',
      path: study ? `/studies/${study}` : '/studies',
      headers: { accept: 'application/dicom+json', 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
      body: Readable.from(body(), { objectMode: false }),
      bodyLength: length,
      ...(options.signal && { signal: options.signal }),
    });
    // 409 with a Store Instances Response means every instance failed, each with its reason; without one, a conflict.
    if (response.status === 409 && /json/.test(String(response.headers['content-type'] ?? '')) && !response.headers['x-amzn-errortype']) {
      return storeResponse(response, await readText(response.body, 64 * 1024 * 1024));
    }
    await ok(response);
    return storeResponse(response, await readText(response.body, 64 * 1024 * 1024));
  }

  private checkDatastore(datastoreId: string): void {
    if (this.allowedDatastores && !this.allowedDatastores.includes(datastoreId)) {
      throw new GuardError('DatastoreNotAllowed', `Datastore ${datastoreId} is not one this server may use.`, `This server may only use datastore(s) ${this.allowedDatastores.join(', ')} (--datastore-ids).`);
    }
  }
}

/** One instance to store: its size up front (the body's length is signed) and a fresh stream of its bytes. */
export interface StoreSource {
  name: string;
  size: number;
  open(): Readable;
}

export interface StoreOptions {
  signal?: AbortSignal;
  /** Called after each instance has been handed to the connection: bytes so far, total bytes, instances so far. */
  onProgress?: (sentBytes: number, totalBytes: number, sentInstances: number) => void;
}

export interface StoreResponse {
  status: number;
  /** The Store Instances Response (PS3.18 Annex I), or an empty dataset when the server sent none. */
  dataset: DicomJsonDataset;
  requestId?: string;
  /** The Warning header's texts (the local service, and some servers, explain failures there). */
  warnings: string[];
}

function storeResponse(response: DicomwebResponse, text: string): StoreResponse {
  let dataset: DicomJsonDataset = {};
  if (text.trim()) {
    try {
      dataset = JSON.parse(text) as DicomJsonDataset;
    } catch {
      throw new DicomwebError('InvalidResponse', 'the DICOMweb endpoint answered the store with a body that is not DICOM JSON', response.status, requestIdOf(response));
    }
  }
  const requestId = requestIdOf(response);
  return { status: response.status, dataset, ...(requestId && { requestId }), warnings: warningTexts(response.headers.warning) };
}

/** The quoted texts of a Warning header (RFC 7234 `299 agent "text"`), in order. */
export function warningTexts(header: string | string[] | undefined): string[] {
  const value = Array.isArray(header) ? header.join(', ') : (header ?? '');
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

function send(url: URL, path: string, method: string, headers: Record<string, string>, body: Readable | undefined, signal: AbortSignal | undefined): Promise<DicomwebResponse> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<DicomwebResponse>((resolve, reject) => {
    const req = transport.request({ method, hostname: url.hostname, port: url.port || undefined, path, headers, ...(signal && { signal }) });
    let answered = false;
    req.once('response', (res) => {
      answered = true;
      // A server may refuse a body before reading it all (413, 403): its answer is what counts, not the broken pipe.
      body?.unpipe(req);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.once('error', (err) => {
      if (!answered) reject(err);
    });
    if (!body) {
      req.end();
      return;
    }
    body.once('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** Throws DicomwebError unless the response is a 2xx; consumes the body of a failure. */
export async function ok(response: DicomwebResponse): Promise<void> {
  if (response.status >= 200 && response.status < 300) return;
  const text = await readText(response.body, 64 * 1024).catch(() => '');
  const errorType = String(response.headers['x-amzn-errortype'] ?? '').split(':')[0] || undefined;
  const name = errorType ?? STATUS_NAMES[response.status] ?? `HTTP${response.status}`;
  let message = text.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { message?: string; Message?: string };
    message = parsed.message ?? parsed.Message ?? message;
  } catch {
    // Not JSON: keep the text as the server sent it.
  }
  const warning = response.headers.warning;
  if (!message && warning) message = String(warning);
  throw new DicomwebError(name, message || `the DICOMweb endpoint answered HTTP ${response.status}`, response.status, requestIdOf(response), HINTS[name]);
}

export function requestIdOf(response: DicomwebResponse): string | undefined {
  const id = response.headers['x-amzn-requestid'] ?? response.headers['x-amz-request-id'];
  return typeof id === 'string' ? id : undefined;
}

/** The body as text, refusing more than `limit` bytes. */
export async function readText(body: Readable, limit: number): Promise<string> {
  return (await readBytes(body, limit)).toString('utf8');
}

/** The body as one buffer, refusing more than `limit` bytes. */
export async function readBytes(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of limitedChunks(body, limit)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The body's chunks as they arrive, refusing more than `limit` bytes in all (the body is then destroyed). */
export async function* limitedChunks(body: Readable, limit: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      body.destroy();
      throw new DicomwebError('ResponseTooLarge', `the DICOMweb response is larger than ${limit} bytes`, 0, undefined, 'Ask for less (fewer attributes, one instance).');
    }
    yield chunk;
  }
}
