/**
 * Content negotiation of the DICOMweb endpoints (PS3.18 §8.7, spec §4.3): which representation of frames, an
 * instance or bulk data an Accept header asks for, among those the local service can produce from what it stores.
 *
 * What can be produced: stored frames exactly as stored (their media type and transfer syntax), or decoded to
 * Explicit VR Little Endian (`application/octet-stream`), except for video, which cannot be decoded. Nothing is
 * re-encoded to another compressed syntax. As HealthImaging does, a quoted transfer-syntax parameter is a 400 and
 * a representation that cannot be produced is a 406 naming the ones that can.
 */
import { parseAccept, type MediaType } from '../../dicom/multipart.js';
import { TS } from '../../dicom/types.js';
import { ServiceError, validationError } from '../errors.js';

export const DICOM_JSON = 'application/dicom+json';
const OCTET_STREAM = 'application/octet-stream';

const notAcceptable = (message: string) => new ServiceError('NotAcceptableException', message);

/** Media types of frames by transfer syntax (PS3.18 Table 8.7.3-5 and 8.7.3-6). */
const FRAME_MEDIA_TYPES: ReadonlyArray<[string, readonly string[]]> = [
  ['image/jpeg', [TS.jpegBaseline, TS.jpegExtended, TS.jpegLossless, TS.jpegLosslessSV1]],
  ['image/jls', [TS.jpegLsLossless, TS.jpegLsNearLossless]],
  ['image/jp2', [TS.j2kLossless, TS.j2k]],
  ['image/jpx', ['1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93']],
  ['image/jphc', [TS.htj2kLossless, TS.htj2kLosslessRpcl, TS.htj2k]],
  ['image/jxl', ['1.2.840.10008.1.2.4.110', '1.2.840.10008.1.2.4.111', '1.2.840.10008.1.2.4.112']],
  ['image/dicom-rle', [TS.rle]],
  ['video/mpeg', ['1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.100.1', '1.2.840.10008.1.2.4.101', '1.2.840.10008.1.2.4.101.1']],
  ['video/mp4', ['1.2.840.10008.1.2.4.102', '1.2.840.10008.1.2.4.102.1', '1.2.840.10008.1.2.4.103', '1.2.840.10008.1.2.4.103.1', '1.2.840.10008.1.2.4.104', '1.2.840.10008.1.2.4.104.1', '1.2.840.10008.1.2.4.105', '1.2.840.10008.1.2.4.105.1', '1.2.840.10008.1.2.4.106', '1.2.840.10008.1.2.4.106.1']],
  ['video/H265', ['1.2.840.10008.1.2.4.107', '1.2.840.10008.1.2.4.108']],
  [OCTET_STREAM, [TS.explicitLE]],
];

export function frameMediaType(transferSyntaxUID: string): string {
  return FRAME_MEDIA_TYPES.find(([, syntaxes]) => syntaxes.includes(transferSyntaxUID))?.[0] ?? OCTET_STREAM;
}

/** The Accept header's ranges, most preferred first; `*\/*` when there is none. Refuses quoted transfer syntaxes. */
function acceptRanges(accept: string | string[] | undefined): MediaType[] {
  const ranges = parseAccept(Array.isArray(accept) ? accept.join(',') : accept);
  for (const range of ranges) {
    if (range.params.get('transfer-syntax')?.quoted) {
      throw validationError(`The transfer-syntax parameter must not be quoted (in Accept: ${range.type}; transfer-syntax="${range.params.get('transfer-syntax')!.value}"); write transfer-syntax=${range.params.get('transfer-syntax')!.value}.`);
    }
  }
  return ranges.length > 0 ? ranges : [{ type: '*/*', params: new Map() }];
}

const isWildcard = (type: string) => type === '*/*' || type === 'application/*';

/** Throws 406 unless the Accept header allows a DICOM JSON response (metadata, search, store responses). */
export function requireDicomJson(accept: string | string[] | undefined): void {
  const ok = acceptRanges(accept).some((r) => r.type === DICOM_JSON || r.type === 'application/json' || isWildcard(r.type));
  if (!ok) throw notAcceptable(`This resource is available as ${DICOM_JSON} only.`);
}

export interface Rendition {
  /** Whether frames are decoded to Explicit VR Little Endian (else served as stored). */
  native: boolean;
  transferSyntaxUID: string;
  /** Media type of each part (frames, bulk data) or of the body (instances). */
  mediaType: string;
}

export interface StoredFrames {
  storedTransferSyntaxUID: string;
  /** Whether the stored frames can be decoded (not video). */
  decodable: boolean;
}

const nativeRendition = (mediaType: string): Rendition => ({ native: true, transferSyntaxUID: TS.explicitLE, mediaType });
const storedRendition = (stored: StoredFrames, mediaType: string): Rendition => ({ native: false, transferSyntaxUID: stored.storedTransferSyntaxUID, mediaType });

/** The representation for GetDICOMInstanceFrames: always multipart/related, one part per frame. */
export function chooseFrameRendition(accept: string | string[] | undefined, stored: StoredFrames): Rendition {
  const storedType = frameMediaType(stored.storedTransferSyntaxUID);
  for (const range of acceptRanges(accept)) {
    if (isWildcard(range.type) || range.type === 'multipart/*') return stored.decodable ? nativeRendition(OCTET_STREAM) : storedRendition(stored, storedType);
    if (range.type !== 'multipart/related') continue;
    const type = range.params.get('type')?.value.toLowerCase() ?? OCTET_STREAM;
    const syntax = range.params.get('transfer-syntax')?.value;
    const anySyntax = syntax === undefined || syntax === '*';
    if (type === OCTET_STREAM && stored.decodable && (anySyntax || syntax === TS.explicitLE)) return nativeRendition(OCTET_STREAM);
    if (type === storedType.toLowerCase() && (anySyntax || syntax === stored.storedTransferSyntaxUID)) return storedRendition(stored, storedType);
  }
  const offers = [
    ...(stored.decodable ? [`multipart/related; type="${OCTET_STREAM}"; transfer-syntax=${TS.explicitLE}`] : []),
    ...(stored.storedTransferSyntaxUID !== TS.explicitLE ? [`multipart/related; type="${storedType}"; transfer-syntax=${stored.storedTransferSyntaxUID}`] : []),
  ];
  throw notAcceptable(`None of the requested representations of these frames is available; available: ${offers.join(' or ')}.`);
}

export interface InstanceRendition extends Rendition {
  /** multipart/related with one application/dicom part, or the Part 10 file as the body. */
  multipart: boolean;
}

/**
 * The representation for GetDICOMInstance: `application/dicom` (HealthImaging's form) or multipart/related with
 * one `application/dicom` part (the DICOMweb default), in Explicit VR Little Endian unless the stored transfer
 * syntax is asked for. Video cannot be decoded, so it defaults to its stored syntax.
 */
export function chooseInstanceRendition(accept: string | string[] | undefined, stored: StoredFrames | undefined): InstanceRendition {
  const syntaxFor = (syntax: string | undefined): string | undefined => {
    if (!stored) return syntax === undefined || syntax === '*' || syntax === TS.explicitLE ? TS.explicitLE : undefined;
    if (syntax === undefined || syntax === '*') return stored.decodable ? TS.explicitLE : stored.storedTransferSyntaxUID;
    if (syntax === TS.explicitLE && stored.decodable) return TS.explicitLE;
    return syntax === stored.storedTransferSyntaxUID ? syntax : undefined;
  };
  const rendition = (syntax: string, multipart: boolean): InstanceRendition => ({
    native: syntax === TS.explicitLE,
    transferSyntaxUID: syntax,
    mediaType: 'application/dicom',
    multipart,
  });
  for (const range of acceptRanges(accept)) {
    const wanted = range.params.get('transfer-syntax')?.value;
    if (isWildcard(range.type)) return rendition(syntaxFor(undefined)!, false);
    const multipart = range.type === 'multipart/related';
    if (multipart && (range.params.get('type')?.value.toLowerCase() ?? 'application/dicom') !== 'application/dicom') continue;
    if (!multipart && range.type !== 'application/dicom') continue;
    const syntax = syntaxFor(wanted);
    if (syntax) return rendition(syntax, multipart);
  }
  const syntaxes = stored ? [...(stored.decodable ? [TS.explicitLE] : []), stored.storedTransferSyntaxUID] : [TS.explicitLE];
  throw notAcceptable(`The instance is available as application/dicom with transfer-syntax ${[...new Set(syntaxes)].join(' or ')}.`);
}

/** GetDICOMBulkdata: multipart/related with one application/octet-stream part, or the bare bytes when asked. */
export function chooseBulkDataRendition(accept: string | string[] | undefined): { multipart: boolean } {
  for (const range of acceptRanges(accept)) {
    if (isWildcard(range.type) || range.type === 'multipart/*') return { multipart: true };
    if (range.type === OCTET_STREAM) return { multipart: false };
    if (range.type === 'multipart/related' && (range.params.get('type')?.value.toLowerCase() ?? OCTET_STREAM) === OCTET_STREAM) return { multipart: true };
  }
  throw notAcceptable(`Bulk data is available as multipart/related; type="${OCTET_STREAM}" or as ${OCTET_STREAM}.`);
}
