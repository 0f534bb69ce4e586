/**
 * What HealthImaging stores for the frames of an imported instance (shared/healthimaging-api.md §5):
 * - lossless and native syntaxes are decoded and stored as HTJ2K lossless RPCL (.4.202), or as JPEG 2000
 *   lossless (.4.90) in datastores whose losslessStorageFormat is JPEG_2000_LOSSLESS;
 * - lossy and video syntaxes (.4.50, .4.91, .4.203, MPEG-2/H.264/HEVC, JPEG XL) are kept as received;
 * - binary segmentations (1-bit) stay Explicit VR Little Endian.
 *
 * Each frame carries the CRC32 of its decoded little-endian pixel buffer, i.e. of what `decodeFrame` returns for
 * the stored bytes: clients verify that checksum after decoding what GetImageFrame returned. For frames kept as
 * received it is the CRC32 of their decoded pixels where a decoder exists, and 0 for video, which has no frame
 * decoder (HealthImaging does not document either case). The pixel range is null for kept frames.
 *
 * Where HTJ2K cannot hold the pixels losslessly with the codec at hand (more than 16 bits per sample, such as
 * 32-bit RT dose; 16-bit colour, which OpenJPH's WASM encoder mishandles), the frames are stored as Explicit VR
 * Little Endian instead, so nothing is lost and the stored transfer syntax says what the bytes are.
 */
import { canDecode, canEncodeHtj2k, decodeFrame, encodeHtj2kLosslessRpcl, encodeJ2kLossless } from './codecs.js';
import { crc32 } from './crc32.js';
import { DicomParseError } from './errors.js';
import { bytesPerSample, interleavedToPlanar, valueRange } from './pixels.js';
import { syntaxInfo } from './syntaxes.js';
import { TS, type DecodedFrame, type FrameGeometry, type LosslessStorageFormat, type ParsedInstance, type PreparedFrame, type PreparedFrames } from './types.js';

export interface PrepareOptions {
  losslessFormat: LosslessStorageFormat;
}

/**
 * Prepares the frames of a parsed instance for storage. An instance without pixel data (a structured report,
 * a presentation state) has no frames; its stored syntax is reported as HTJ2K RPCL, the value HealthImaging
 * implies when StoredTransferSyntaxUID is absent.
 */
export async function prepareFrames(parsed: ParsedInstance, options: PrepareOptions): Promise<PreparedFrames> {
  const { geometry, frameData, transferSyntaxUID } = parsed;
  if (!geometry || frameData.length === 0) return { storedTransferSyntaxUID: TS.htj2kLosslessRpcl, frames: [] };
  const syntax = syntaxInfo(transferSyntaxUID);
  if (!syntax) throw new DicomParseError(`transfer syntax ${transferSyntaxUID} is not supported`);
  if (syntax.keptAsReceived) return keepAsReceived(frameData, transferSyntaxUID, geometry);
  if (geometry.bitsAllocated === 1) {
    // Binary segmentations stay Explicit VR Little Endian (§5); a 1-bit frame in any other native syntax has the
    // same bytes once parseP10 has read it, so it is stored the same way.
    if (syntax.encoding !== 'native') throw new DicomParseError(`1-bit pixel data in transfer syntax ${transferSyntaxUID} is not supported`);
    return storeFrames(frameData, transferSyntaxUID, geometry, 'native');
  }
  return storeFrames(frameData, transferSyntaxUID, geometry, options.losslessFormat);
}

type Storage = LosslessStorageFormat | 'native';

const STORED_SYNTAX: Readonly<Record<Storage, string>> = {
  HTJ2K: TS.htj2kLosslessRpcl,
  JPEG_2000_LOSSLESS: TS.j2kLossless,
  native: TS.explicitLE,
};

async function storeFrames(frameData: Uint8Array[], transferSyntaxUID: string, geometry: FrameGeometry, requested: Storage): Promise<PreparedFrames> {
  const frames: PreparedFrame[] = [];
  let storage = requested;
  for (const data of frameData) {
    const decoded = await decodeFrame(data, transferSyntaxUID, geometry);
    // All frames of an instance share one layout, so the first decides for all.
    if (frames.length === 0) storage = storageFor(decoded, requested);
    frames.push({
      bytes: await encode(decoded, storage, geometry),
      width: decoded.width,
      height: decoded.height,
      checksum: crc32(decoded.pixels),
      ...valueRange(decoded, geometry.bitsStored),
    });
  }
  return { storedTransferSyntaxUID: STORED_SYNTAX[storage], frames };
}

function storageFor(frame: DecodedFrame, requested: Storage): Storage {
  if (requested === 'HTJ2K') return canEncodeHtj2k(frame) ? 'HTJ2K' : 'native';
  if (requested === 'JPEG_2000_LOSSLESS') return frame.bitsAllocated === 8 || frame.bitsAllocated === 16 ? 'JPEG_2000_LOSSLESS' : 'native';
  return 'native';
}

function encode(frame: DecodedFrame, storage: Storage, geometry: FrameGeometry): Promise<Uint8Array> | Uint8Array {
  if (storage === 'HTJ2K') return encodeHtj2kLosslessRpcl(frame);
  if (storage === 'JPEG_2000_LOSSLESS') return encodeJ2kLossless(frame);
  // Native bytes must be laid out as the instance's PlanarConfiguration says, so that a reader of the stored frame
  // (decodeFrame included) gets the decoded pixels, and their checksum, back.
  const planar = geometry.planarConfiguration === 1 && frame.samplesPerPixel > 1 && frame.bitsAllocated > 1;
  return planar ? interleavedToPlanar(frame.pixels, frame.samplesPerPixel, bytesPerSample(frame.bitsAllocated)) : frame.pixels;
}

async function keepAsReceived(frameData: Uint8Array[], transferSyntaxUID: string, geometry: FrameGeometry): Promise<PreparedFrames> {
  const decodable = canDecode(transferSyntaxUID);
  const frames: PreparedFrame[] = [];
  for (const bytes of frameData) {
    const checksum = decodable ? crc32((await decodeFrame(bytes, transferSyntaxUID, geometry)).pixels) : 0;
    frames.push({ bytes, width: geometry.columns, height: geometry.rows, checksum, min: null, max: null });
  }
  return { storedTransferSyntaxUID: transferSyntaxUID, frames };
}
