/**
 * Frame decoding and lossless encoding for every transfer syntax HealthImaging accepts (spec §5). HTJ2K goes
 * through OpenJPH (openjph.ts); RLE, JPEG, JPEG-LS, JPEG 2000 and JPEG XL through dcmjs-codecs (native-codecs.ts).
 * Each WASM module loads on first use, once.
 *
 * Decoded frames are little-endian samples, colour interleaved (PlanarConfiguration 0), with these rules:
 * - Colour JPEG whose PhotometricInterpretation is YBR_* comes out as RGB (libjpeg's YCbCr → RGB conversion,
 *   what a viewer displays); JPEG marked RGB comes out as stored. JPEG 2000/HTJ2K with a multi-component
 *   transform (YBR_RCT/YBR_ICT) comes out as RGB. Native YBR_FULL stays YCbCr; native YBR_FULL_422 is
 *   expanded to one Y Cb Cr triple per pixel.
 * - Signed data that a codec could not code as signed (JPEG and JPEG-LS always; a JPEG 2000 codestream marked
 *   unsigned) is sign-extended from its precision, so a signed 12-bit -1 reads 0xFFFF, as in a native file.
 * - 1-bit frames stay packed (bitsAllocated 1), exactly as stored: that buffer is what their checksum covers.
 */
import { DicomParseError } from './errors.js';
import { decodeNative, encodeHtj2kLossless, encodeJpeg2000Lossless, type FrameLayout, type NativeDecoding } from './native-codecs.js';
import { decodeHtj2k, encodeHtj2k } from './openjph.js';
import { bytesPerSample, planarToInterleaved, signExtend, widenTo16, ybrFull422ToFull } from './pixels.js';
import { syntaxInfo } from './syntaxes.js';
import type { DecodedFrame, FrameGeometry } from './types.js';

/** Whether `decodeFrame` can decode frames of this transfer syntax (everything but video and unknown syntaxes). */
export function canDecode(transferSyntaxUID: string): boolean {
  const encoding = syntaxInfo(transferSyntaxUID)?.encoding;
  return encoding !== undefined && encoding !== 'video';
}

/**
 * Decodes one frame: `bytes` is a complete encoded frame (encapsulated syntaxes) or the frame's native
 * little-endian bytes (native syntaxes; parseP10 has already byte-swapped big endian and inflated deflated data).
 * The returned pixels may share memory with `bytes`.
 */
export async function decodeFrame(bytes: Uint8Array, transferSyntaxUID: string, geometry: FrameGeometry): Promise<DecodedFrame> {
  const encoding = syntaxInfo(transferSyntaxUID)?.encoding;
  if (encoding === undefined) throw new DicomParseError(`transfer syntax ${transferSyntaxUID} is not supported`);
  if (encoding === 'video') throw new DicomParseError(`frames of video transfer syntax ${transferSyntaxUID} cannot be decoded`);
  if (encoding === 'native') return nativeFrame(bytes, geometry);
  try {
    return encoding === 'htj2k' ? await htj2kFrame(bytes, geometry) : await codecFrame(encoding, bytes, geometry);
  } catch (err) {
    if (err instanceof DicomParseError) throw err;
    throw new DicomParseError(`the ${encoding.toUpperCase()} frame could not be decoded: ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.trim() || err.name;
  return typeof err === 'number' ? 'the codec aborted' : String(err);
}

function frameOf(geometry: FrameGeometry, pixels: Uint8Array, samplesPerPixel = geometry.samplesPerPixel): DecodedFrame {
  return {
    width: geometry.columns,
    height: geometry.rows,
    samplesPerPixel,
    bitsAllocated: geometry.bitsAllocated,
    signed: geometry.pixelRepresentation === 1,
    pixels,
  };
}

/** Bytes of one decoded frame with the geometry's layout (1-bit: packed). */
export function decodedFrameLength(geometry: FrameGeometry): number {
  const samples = geometry.rows * geometry.columns * geometry.samplesPerPixel;
  return geometry.bitsAllocated === 1 ? Math.ceil(samples / 8) : samples * bytesPerSample(geometry.bitsAllocated);
}

function expectLength(pixels: Uint8Array, expected: number, what: string): void {
  if (pixels.length < expected) throw new DicomParseError(`${what} holds ${pixels.length} bytes; Rows × Columns × samples need ${expected}`);
}

function nativeFrame(bytes: Uint8Array, geometry: FrameGeometry): DecodedFrame {
  const { rows, columns, samplesPerPixel, bitsAllocated } = geometry;
  if (geometry.photometricInterpretation === 'YBR_FULL_422' && bitsAllocated === 8) {
    expectLength(bytes, rows * columns * 2, 'the YBR_FULL_422 frame');
    return frameOf(geometry, ybrFull422ToFull(bytes, columns, rows), 3);
  }
  const length = decodedFrameLength(geometry);
  expectLength(bytes, length, 'the frame');
  const frame = bytes.subarray(0, length);
  const planar = samplesPerPixel > 1 && geometry.planarConfiguration === 1 && bitsAllocated > 1;
  return frameOf(geometry, planar ? planarToInterleaved(frame, samplesPerPixel, bytesPerSample(bitsAllocated)) : frame);
}

async function codecFrame(encoding: NativeDecoding, bytes: Uint8Array, geometry: FrameGeometry): Promise<DecodedFrame> {
  if (geometry.bitsAllocated === 1) throw new DicomParseError(`1-bit pixel data in ${encoding.toUpperCase()} is not supported`);
  const colourJpeg = encoding === 'jpeg' && geometry.samplesPerPixel === 3 && geometry.photometricInterpretation.startsWith('YBR');
  const pixels = await decodeNative(encoding, bytes, layoutOf(geometry), { convertToRgb: colourJpeg });
  const length = decodedFrameLength(geometry);
  expectLength(pixels, length, `the decoded ${encoding.toUpperCase()} frame`);
  const codestream = encoding === 'jpeg2000' ? j2kPrecision(bytes) : undefined;
  return frameOf(geometry, restoreSign(pixels.subarray(0, length), geometry, codestream));
}

function layoutOf(geometry: FrameGeometry): FrameLayout {
  return {
    width: geometry.columns,
    height: geometry.rows,
    bitsAllocated: geometry.bitsAllocated,
    bitsStored: geometry.bitsStored,
    samplesPerPixel: geometry.samplesPerPixel,
    pixelRepresentation: geometry.pixelRepresentation,
    // The JPEG, JPEG-LS and JPEG 2000 decoders always return interleaved samples; the RLE decoder lays its
    // per-component segments out as this asks. Interleaved is what DecodedFrame promises, whatever the attribute
    // says (for encapsulated syntaxes it does not describe the codestream anyway).
    planarConfiguration: 0,
    photometricInterpretation: geometry.photometricInterpretation,
  };
}

async function htj2kFrame(bytes: Uint8Array, geometry: FrameGeometry): Promise<DecodedFrame> {
  const { info, pixels } = await decodeHtj2k(bytes);
  if (info.width !== geometry.columns || info.height !== geometry.rows) {
    throw new DicomParseError(`the HTJ2K frame is ${info.width}×${info.height}, not the ${geometry.columns}×${geometry.rows} that Columns and Rows say`);
  }
  // OpenJPH's WASM wrapper writes at most 16 bits per sample.
  if (info.bitsPerSample > 16) throw new DicomParseError(`HTJ2K codestreams of ${info.bitsPerSample} bits per sample are not supported`);
  const sampleBits = info.bitsPerSample <= 8 ? 8 : 16;
  // A codestream coded at up to 8 bits for data allocated in 16 decodes to bytes; keep the DICOM layout.
  const widen = sampleBits === 8 && geometry.bitsAllocated === 16;
  const layout: FrameGeometry = {
    ...geometry,
    samplesPerPixel: info.componentCount,
    bitsAllocated: widen ? 16 : sampleBits,
  };
  const samples = widen ? widenTo16(pixels, info.isSigned) : pixels;
  return frameOf(layout, restoreSign(samples, layout, { precision: info.bitsPerSample, signed: info.isSigned }));
}

interface CodestreamSign {
  precision: number;
  signed: boolean;
}

/**
 * Precision and signedness of the first component of a JPEG 2000 codestream (SIZ marker right after SOC,
 * Ssiz at byte 42); undefined for anything else (e.g. a JP2 file wrapped around the codestream).
 */
function j2kPrecision(codestream: Uint8Array): CodestreamSign | undefined {
  const isCodestream = codestream[0] === 0xff && codestream[1] === 0x4f && codestream[2] === 0xff && codestream[3] === 0x51;
  if (!isCodestream || codestream.length < 43) return undefined;
  const ssiz = codestream[42]!;
  return { precision: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0 };
}

/** See the module comment: sign-extends data the codec could not code as signed. */
function restoreSign(pixels: Uint8Array, geometry: FrameGeometry, codestream: CodestreamSign | undefined): Uint8Array {
  if (geometry.pixelRepresentation !== 1 || codestream?.signed) return pixels;
  const precision = codestream?.precision ?? geometry.bitsStored;
  return precision < geometry.bitsAllocated ? signExtend(pixels, geometry.bitsAllocated, precision) : pixels;
}

/** Wavelet decompositions so that the lowest resolution is at most 64 pixels on its long edge (at most 5). */
export function decompositionsFor(width: number, height: number): number {
  let levels = 0;
  for (let edge = Math.max(width, height); edge > 64 && levels < 5; edge = Math.ceil(edge / 2)) levels++;
  return levels;
}

/**
 * Whether `encodeHtj2kLosslessRpcl` can encode this frame losslessly. OpenJPH's WASM wrapper reads only the first
 * component of 16-bit colour, and reads and clamps 8-bit samples as unsigned, so neither would round-trip.
 */
export function canEncodeHtj2k(frame: Pick<DecodedFrame, 'samplesPerPixel' | 'bitsAllocated' | 'signed'>): boolean {
  if (frame.bitsAllocated === 8) return !frame.signed && (frame.samplesPerPixel === 1 || frame.samplesPerPixel === 3);
  return frame.bitsAllocated === 16 && frame.samplesPerPixel === 1;
}

/**
 * HTJ2K lossless codestream for transfer syntax 1.2.840.10008.1.2.4.202: reversible 5/3 wavelet, RPCL, TLM
 * markers, decompositions down to ≤ 64 px, 64×64 code blocks, signed data coded as signed, colour with the
 * reversible colour transform. The precision is BitsAllocated, so every bit of the input survives (also bits
 * above BitsStored) and the decoded buffer has the checksum of the input.
 */
export async function encodeHtj2kLosslessRpcl(frame: DecodedFrame): Promise<Uint8Array> {
  if (!canEncodeHtj2k(frame)) {
    const kind = `${frame.samplesPerPixel}-sample ${frame.signed ? 'signed' : 'unsigned'} ${frame.bitsAllocated}-bit`;
    throw new DicomParseError(`HTJ2K encoding of ${kind} pixels is not supported`);
  }
  expectLength(frame.pixels, frame.width * frame.height * frame.samplesPerPixel * bytesPerSample(frame.bitsAllocated), 'the frame');
  try {
    if (containsRangeMinimum(frame)) {
      // OpenJPH's WASM encoder codes the lowest value of the sample range wrongly (unsigned 0 decodes as 2^(B-1),
      // signed -2^(B-1) as 0). Such frames go to the OpenJPH build inside dcmjs-codecs, which round-trips them; it
      // chooses its own number of decompositions, so their base resolution can exceed 64 px.
      return Uint8Array.from(await encodeHtj2kLossless(frame.pixels, frameLayout(frame)));
    }
    const info = {
      width: frame.width,
      height: frame.height,
      bitsPerSample: frame.bitsAllocated,
      componentCount: frame.samplesPerPixel,
      isSigned: frame.signed,
      isUsingColorTransform: frame.samplesPerPixel === 3,
    };
    return await encodeHtj2k(frame.pixels, { info, decompositions: decompositionsFor(frame.width, frame.height) });
  } catch (err) {
    throw new DicomParseError(`HTJ2K encoding failed: ${describe(err)}`);
  }
}

const frameLayout = (frame: DecodedFrame): FrameLayout => ({
  width: frame.width,
  height: frame.height,
  bitsAllocated: frame.bitsAllocated,
  bitsStored: frame.bitsAllocated,
  samplesPerPixel: frame.samplesPerPixel,
  pixelRepresentation: frame.signed ? 1 : 0,
  planarConfiguration: 0,
  photometricInterpretation: frame.samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB',
});

/** Whether any sample holds the lowest value its type can hold (0, or -2^(B-1) when signed). */
export function containsRangeMinimum(frame: DecodedFrame): boolean {
  const { pixels } = frame;
  if (frame.bitsAllocated === 8) {
    const minimum = frame.signed ? 0x80 : 0;
    return pixels.includes(minimum);
  }
  // 16-bit little endian: unsigned 0 is 00 00, signed -32768 is 00 80.
  const high = frame.signed ? 0x80 : 0;
  for (let i = 0; i + 1 < pixels.length; i += 2) if (pixels[i] === 0 && pixels[i + 1] === high) return true;
  return false;
}

/**
 * JPEG 2000 lossless codestream (transfer syntax 1.2.840.10008.1.2.4.90), for datastores whose
 * losslessStorageFormat is JPEG_2000_LOSSLESS: reversible 5/3 wavelet, RPCL, colour with the reversible colour
 * transform (OpenJPEG through dcmjs-codecs; about 20 times slower than HTJ2K).
 */
export async function encodeJ2kLossless(frame: DecodedFrame): Promise<Uint8Array> {
  if (frame.bitsAllocated !== 8 && frame.bitsAllocated !== 16) {
    throw new DicomParseError(`JPEG 2000 encoding of ${frame.bitsAllocated}-bit pixels is not supported`);
  }
  try {
    return await encodeJpeg2000Lossless(frame.pixels, frameLayout(frame));
  } catch (err) {
    throw new DicomParseError(`JPEG 2000 encoding failed: ${describe(err)}`);
  }
}
