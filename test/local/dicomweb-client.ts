/**
 * A DICOMweb client as a viewer would write one: plain `fetch`, requests signed with @smithy/signature-v4 for the
 * service `medical-imaging`. Used by the DICOMweb tests; knows nothing of the local service's internals.
 */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { REGION } from '../helpers/local.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  /** A body in memory (its SHA-256 is signed) or a stream (signed as `payloadHash`). */
  body?: Uint8Array | ReadableStream<Uint8Array>;
  /** x-amz-content-sha256 to sign instead of the body's hash (required for streams). */
  payloadHash?: string;
  /** Changes the request after signing (to test that tampering is detected). */
  tamper?: (request: { headers: Record<string, string>; body?: Uint8Array | ReadableStream<Uint8Array> }) => void;
}

export class DicomwebClient {
  constructor(
    readonly endpoint: string,
    private readonly credentials: Credentials,
    private readonly region = REGION,
  ) {}

  /** The URL and signed headers of a request (the `host` header left to the HTTP client). */
  async sign(path: string, options: RequestOptions = {}): Promise<{ url: string; headers: Record<string, string>; body: RequestOptions['body'] }> {
    const url = new URL(path, this.endpoint);
    const query = options.query ?? {};
    const request = new HttpRequest({
      method: options.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers: {
        host: url.host,
        ...options.headers,
        ...(options.payloadHash && { 'x-amz-content-sha256': options.payloadHash }),
      },
      ...(options.body instanceof Uint8Array && { body: options.body }),
    });
    const signer = new SignatureV4({ credentials: this.credentials, region: this.region, service: 'medical-imaging', sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign(request);
    const sent = { headers: { ...(signed.headers as Record<string, string>) }, body: options.body };
    options.tamper?.(sent);
    delete sent.headers.host;
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const value of Array.isArray(v) ? v : [v]) search.append(k, value);
    const qs = search.toString();
    return { url: `${url.origin}${url.pathname}${qs ? `?${qs}` : ''}`, headers: sent.headers, body: sent.body };
  }

  async fetch(path: string, options: RequestOptions = {}): Promise<Response> {
    const { url, headers, body } = await this.sign(path, options);
    return fetch(url, { method: options.method ?? 'GET', headers, ...(body && { body, duplex: 'half' }) } as RequestInit);
  }

  async json<T = DicomJson[]>(path: string, options: RequestOptions = {}): Promise<{ status: number; body: T | undefined; response: Response }> {
    const response = await this.fetch(path, { ...options, headers: { accept: 'application/dicom+json', ...options.headers } });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as T) : undefined, response };
  }

  /** STOW-RS of Part 10 files as one multipart/related request. */
  store(datastoreId: string, files: Uint8Array[], study?: string): Promise<{ status: number; body: DicomJson | undefined; response: Response }> {
    const boundary = 'test-boundary-8f3a';
    const body = Buffer.concat([...files.flatMap((bytes) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);
    return this.json<DicomJson>(`/datastore/${datastoreId}/studies${study ? `/${study}` : ''}`, {
      method: 'POST',
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
      body,
    });
  }
}

export type DicomJson = Record<string, { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string }>;

/** First value of a tag in a DICOM JSON object. */
export const first = (dataset: DicomJson | undefined, tag: string): unknown => dataset?.[tag]?.Value?.[0];

/**
 * Splits a multipart/related response into its parts. Written independently of src/dicom/multipart.ts (a plain
 * split on the delimiter), so the tests do not check the service's framing with the service's own parser.
 */
export async function multipartParts(response: Response): Promise<Array<{ headers: Record<string, string>; body: Uint8Array }>> {
  const type = response.headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (!/^multipart\/related/i.test(type) || !boundary) throw new Error(`not a multipart/related response: ${type}`);
  const body = Buffer.from(await response.arrayBuffer());
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: Record<string, string>; body: Uint8Array }> = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const headerEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd);
    if (headerEnd < 0 || next < 0) throw new Error('truncated multipart response');
    const headers = Object.fromEntries(
      body
        .subarray(afterDelimiter + 2, headerEnd)
        .toString('latin1')
        .split('\r\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    parts.push({ headers, body: new Uint8Array(body.subarray(headerEnd + 4, next)) });
    at = next + 2;
  }
  throw new Error('multipart response without closing delimiter');
}
