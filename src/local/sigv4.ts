/**
 * SigV4 verification for the local service (shared/healthimaging-api.md §1.1). The request is rebuilt from the
 * raw method, the raw (still percent-encoded) path, the decoded query, only the headers named in SignedHeaders,
 * and the payload hash; it is signed again with @smithy/signature-v4 and the signatures compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ServiceError } from './errors.js';

export const SIGNING_SERVICE = 'medical-imaging';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
/** How far x-amz-date may be from the service's clock, as AWS allows. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  /** Host header as received. */
  host: string;
  /** Path exactly as received, still percent-encoded, without the query string. */
  rawPath: string;
  /** Query string as received (without `?`). */
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface VerifyOptions {
  credentials: Credentials;
  now?: Date;
  /**
   * Lowercase hex SHA-256 of the body when the body has been read; undefined when it is streamed and the
   * client declared `UNSIGNED-PAYLOAD` or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` in x-amz-content-sha256.
   */
  bodySha256: string | undefined;
}

export interface VerifiedIdentity {
  accessKeyId: string;
  region: string;
}

const AUTH_RE = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/;
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const denied = (name: 'InvalidSignatureException' | 'MissingAuthenticationTokenException' | 'UnrecognizedClientException', message: string) =>
  new ServiceError(name, message);

export const sha256Hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE_RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** Decoded query map; repeated keys become arrays, as the signer expects. */
export function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const prev = query[key];
    query[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return query;
}

/** Verifies the request's SigV4 signature, or throws a 403 ServiceError saying what is wrong. */
export async function verifySigV4(req: SignedRequest, options: VerifyOptions): Promise<VerifiedIdentity> {
  const authorization = header(req.headers, 'authorization');
  if (!authorization) {
    if (new URLSearchParams(req.rawQuery).has('X-Amz-Signature')) {
      throw denied('InvalidSignatureException', 'Query-string (presigned) authentication is not supported by the local service; sign the Authorization header.');
    }
    throw denied('MissingAuthenticationTokenException', 'Missing Authentication Token: the request must be signed with AWS Signature Version 4 (service medical-imaging).');
  }
  const match = AUTH_RE.exec(authorization);
  if (!match) throw denied('InvalidSignatureException', 'Authorization header is not a valid AWS4-HMAC-SHA256 signature.');
  const [, credential, signedHeaderList, signature] = match as unknown as [string, string, string, string];
  const scope = credential.split('/');
  const [accessKeyId, scopeDate, region, service, terminator] = scope;
  if (scope.length !== 5 || !accessKeyId || !scopeDate || !region || service === undefined || terminator !== 'aws4_request') {
    throw denied('InvalidSignatureException', `Credential scope '${credential.replace(/^[^/]*/, '<key>')}' is malformed; expected <key>/<yyyymmdd>/<region>/medical-imaging/aws4_request.`);
  }
  if (accessKeyId !== options.credentials.accessKeyId) {
    throw denied('UnrecognizedClientException', 'The security token included in the request is invalid: unknown access key ID for this local service.');
  }
  if (service !== SIGNING_SERVICE) {
    throw denied('InvalidSignatureException', `Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`);
  }

  const amzDate = header(req.headers, 'x-amz-date');
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!amzDate || !signingDate) throw denied('InvalidSignatureException', 'Missing or malformed X-Amz-Date header (expected yyyyMMddTHHmmssZ).');
  if (amzDate.slice(0, 8) !== scopeDate) {
    throw denied('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from X-Amz-Date ('${scopeDate}' vs '${amzDate.slice(0, 8)}').`);
  }
  const now = options.now ?? new Date();
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw denied('InvalidSignatureException', `Signature expired: ${amzDate} is outside the 15 minute window around the service time ${now.toISOString()}.`);
  }

  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) throw denied('InvalidSignatureException', "SignedHeaders must include 'host'.");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    // curl signs a header given as `-H "name:"` with an empty value but does not send it: the AWS documentation's
    // STOW-RS example does that with x-amz-security-token when there is no session token. Absent reads as empty,
    // which cannot help a forger: a header signed with a value still has to be sent with it.
    headers[name] = header(req.headers, name) ?? '';
  }

  const declaredHash = header(req.headers, 'x-amz-content-sha256');
  if (declaredHash && declaredHash !== UNSIGNED_PAYLOAD && declaredHash !== STREAMING_PAYLOAD) {
    if (!/^[0-9a-f]{64}$/.test(declaredHash)) throw denied('InvalidSignatureException', 'x-amz-content-sha256 is not a SHA-256 hex digest.');
    if (options.bodySha256 !== undefined && declaredHash !== options.bodySha256) {
      throw denied('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed (the body was altered).');
    }
  }
  // The payload hash in the canonical request: the signed header's literal value, else the body's own hash.
  const payloadHash = headers['x-amz-content-sha256'] ?? options.bodySha256;
  if (payloadHash === undefined) throw denied('InvalidSignatureException', 'A streamed body needs an x-amz-content-sha256 header.');
  headers['x-amz-content-sha256'] = payloadHash;

  const signer = new SignatureV4({
    credentials: options.credentials,
    region,
    service: SIGNING_SERVICE,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true,
    applyChecksum: false,
  });
  const rebuilt = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: req.host,
    path: req.rawPath,
    query: parseQuery(req.rawQuery),
    headers,
  });
  const signableHeaders = new Set(signedHeaders);
  // The payload hash travels to the signer as a header; when the client did not sign that header, it must stay out.
  const unsignableHeaders = signableHeaders.has('x-amz-content-sha256') ? undefined : new Set(['x-amz-content-sha256']);
  const signed = await signer.sign(rebuilt, { signingDate, signableHeaders, ...(unsignableHeaders && { unsignableHeaders }) });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers['authorization'] ?? ''))?.[1] ?? '';
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw denied('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
  return { accessKeyId, region };
}
