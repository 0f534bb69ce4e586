/**
 * What HealthImaging stores for each frame of an imported instance (spec §5): lossless syntaxes are decoded and
 * re-encoded as HTJ2K lossless RPCL (or JPEG 2000 lossless for JPEG_2000_LOSSLESS datastores); lossy and video
 * syntaxes are kept as received. Every frame carries the CRC32 of its decoded pixels, the checksum clients verify
 * after decoding, and its stored pixel value range.
 */
import { canDecode, decodeFrame, encodeHtj2kLosslessRpcl, encodeJ2kLossless } from './codecs.js';
import { crc32 } from './crc32.js';
import { DicomParseError } from './p10.js';
import { TS, type DecodedFrame, type LosslessStorageFormat, type ParsedInstance, type PreparedFrame, type PreparedFrames } from './types.js';

/** Syntaxes HealthImaging transcodes to its lossless storage format. */
const TRANSCODED = new Set<string>([
  TS.implicitLE, TS.explicitLE, TS.deflatedLE, TS.explicitBE, TS.jpegExtended, TS.jpegLossless, TS.jpegLosslessSV1, TS.jpegLsLossless,
  TS.jpegLsNearLossless, TS.j2kLossless, '1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93', TS.htj2kLossless, TS.htj2kLosslessRpcl, TS.rle,
]);
const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

/** Min and max stored value over all samples, signed-aware. */
export function pixelRange(frame: DecodedFrame): { min: number; max: number } {
  const { pixels } = frame;
  const view =
    frame.bitsAllocated <= 8
      ? frame.signed ? new Int8Array(pixels.buffer, pixels.byteOffset, pixels.length) : pixels
      : frame.bitsAllocated <= 16
        ? frame.signed ? new Int16Array(pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length)) : new Uint16Array(pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length))
        : frame.signed ? new Int32Array(pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length)) : new Uint32Array(pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length));
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < view.length; i++) {
    const v = view[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return view.length ? { min, max } : { min: 0, max: 0 };
}

async function storeLossless(frame: DecodedFrame, format: LosslessStorageFormat): Promise<{ bytes: Uint8Array; syntax: string }> {
  if (format === 'JPEG_2000_LOSSLESS') return { bytes: await encodeJ2kLossless(frame), syntax: TS.j2kLossless };
  if (frame.bitsAllocated > 16) {
    // OpenJPH encodes up to 16 bits per sample; wider data (e.g. 32-bit RT dose) is kept uncompressed.
    return { bytes: frame.pixels, syntax: TS.explicitLE };
  }
  return { bytes: await encodeHtj2kLosslessRpcl(frame), syntax: TS.htj2kLosslessRpcl };
}

/**
 * Prepares the frames of a parsed instance for storage. An instance without pixel data (a structured report,
 * a presentation state) has no frames; its stored syntax is reported as HTJ2K RPCL, the value a missing
 * StoredTransferSyntaxUID implies.
 */
export async function prepareFrames(parsed: ParsedInstance, options: { losslessFormat: LosslessStorageFormat }): Promise<PreparedFrames> {
  const geometry = parsed.geometry;
  if (!geometry || parsed.frameData.length === 0) return { storedTransferSyntaxUID: TS.htj2kLosslessRpcl, frames: [] };
  const ts = parsed.transferSyntaxUID;
  const binarySegmentation = parsed.sopClassUID === SEGMENTATION_STORAGE && geometry.bitsAllocated === 1;

  if (binarySegmentation && ts === TS.explicitLE) {
    return {
      storedTransferSyntaxUID: TS.explicitLE,
      frames: parsed.frameData.map((bytes) => ({ bytes, width: geometry.columns, height: geometry.rows, checksum: crc32(bytes), min: 0, max: 1 })),
    };
  }
  if (TRANSCODED.has(ts) && !binarySegmentation) {
    const frames: PreparedFrame[] = [];
    let syntax: string = TS.htj2kLosslessRpcl;
    for (const data of parsed.frameData) {
      const decoded = await decodeFrame(data, ts, geometry);
      const stored = await storeLossless(decoded, options.losslessFormat);
      syntax = stored.syntax;
      frames.push({ bytes: stored.bytes, width: decoded.width, height: decoded.height, checksum: crc32(decoded.pixels), ...pixelRange(decoded) });
    }
    return { storedTransferSyntaxUID: syntax, frames };
  }
  if (TRANSCODED.has(ts)) throw new DicomParseError(`Binary segmentation in transfer syntax ${ts} is not supported; send it as Explicit VR Little Endian`);

  // Kept as received (lossy and video syntaxes). The checksum still covers the decoded pixels where a decoder
  // exists; for video there is no frame decoder and the checksum is 0.
  const frames: PreparedFrame[] = [];
  for (const data of parsed.frameData) {
    const decoded = canDecode(ts) ? await decodeFrame(data, ts, geometry) : undefined;
    frames.push({ bytes: data, width: geometry.columns, height: geometry.rows, checksum: decoded ? crc32(decoded.pixels) : 0, min: null, max: null });
  }
  return { storedTransferSyntaxUID: ts, frames };
}
