/**
 * What the DICOM layer knows about each transfer syntax: how its pixel data is encoded and what HealthImaging
 * does with it on import (shared/healthimaging-api.md §5).
 */
import { TS } from './types.js';

export type PixelEncoding = 'native' | 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg2000' | 'htj2k' | 'jpeg-xl' | 'video';

export interface SyntaxInfo {
  encoding: PixelEncoding;
  /**
   * True when HealthImaging stores the frames exactly as received (lossy and video syntaxes); false when it
   * decodes them and stores them losslessly (HTJ2K RPCL, or JPEG 2000 lossless for such datastores).
   */
  keptAsReceived: boolean;
}

const transcoded = (encoding: PixelEncoding): SyntaxInfo => ({ encoding, keptAsReceived: false });
const kept = (encoding: PixelEncoding): SyntaxInfo => ({ encoding, keptAsReceived: true });

const VIDEO_UIDS = [
  '1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.100.1', '1.2.840.10008.1.2.4.101', '1.2.840.10008.1.2.4.101.1',
  '1.2.840.10008.1.2.4.102', '1.2.840.10008.1.2.4.102.1', '1.2.840.10008.1.2.4.103', '1.2.840.10008.1.2.4.103.1',
  '1.2.840.10008.1.2.4.104', '1.2.840.10008.1.2.4.104.1', '1.2.840.10008.1.2.4.105', '1.2.840.10008.1.2.4.105.1',
  '1.2.840.10008.1.2.4.106', '1.2.840.10008.1.2.4.106.1', '1.2.840.10008.1.2.4.107', '1.2.840.10008.1.2.4.108',
];

const SYNTAXES: ReadonlyMap<string, SyntaxInfo> = new Map([
  [TS.implicitLE, transcoded('native')],
  [TS.explicitLE, transcoded('native')],
  [TS.deflatedLE, transcoded('native')],
  [TS.explicitBE, transcoded('native')],
  [TS.rle, transcoded('rle')],
  [TS.jpegBaseline, kept('jpeg')],
  [TS.jpegExtended, transcoded('jpeg')],
  [TS.jpegLossless, transcoded('jpeg')],
  [TS.jpegLosslessSV1, transcoded('jpeg')],
  [TS.jpegLsLossless, transcoded('jpeg-ls')],
  [TS.jpegLsNearLossless, transcoded('jpeg-ls')],
  [TS.j2kLossless, transcoded('jpeg2000')],
  [TS.j2k, kept('jpeg2000')],
  ['1.2.840.10008.1.2.4.92', transcoded('jpeg2000')],
  ['1.2.840.10008.1.2.4.93', transcoded('jpeg2000')],
  [TS.htj2kLossless, transcoded('htj2k')],
  [TS.htj2kLosslessRpcl, transcoded('htj2k')],
  [TS.htj2k, kept('htj2k')],
  // JPEG XL: §5 names only .112 (kept). Lossless .110 is treated like the other lossless syntaxes; .111
  // (recompressed lossy JPEG) like .112.
  ['1.2.840.10008.1.2.4.110', transcoded('jpeg-xl')],
  ['1.2.840.10008.1.2.4.111', kept('jpeg-xl')],
  ['1.2.840.10008.1.2.4.112', kept('jpeg-xl')],
  ...VIDEO_UIDS.map((uid): [string, SyntaxInfo] => [uid, kept('video')]),
]);

/** Undefined for syntaxes the DICOM layer cannot handle (retired JPEG processes, JPIP, …). */
export function syntaxInfo(transferSyntaxUID: string): SyntaxInfo | undefined {
  return SYNTAXES.get(transferSyntaxUID);
}

/** Whether pixel data of this syntax is a sequence of fragments (everything but the native syntaxes). */
export function isEncapsulated(transferSyntaxUID: string): boolean {
  return syntaxInfo(transferSyntaxUID)?.encoding !== 'native';
}
