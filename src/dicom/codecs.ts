/**
 * Frame codecs. HTJ2K goes through OpenJPH (@cornerstonejs/codec-openjph, fast, and the encoder HealthImaging's
 * own samples decode with); RLE, JPEG, JPEG-LS and JPEG 2000 through dcmjs-codecs' native WASM codecs. Both WASM
 * modules load once, on first use. Decoded frames are little-endian samples, colour interleaved.
 */
import { createRequire } from 'node:module';
import { TS, type DecodedFrame, type FrameGeometry } from './types.js';

const require = createRequire(import.meta.url);

interface OpenJphImageInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
  isUsingColorTransform: boolean;
}
interface OpenJph {
  HTJ2KEncoder: new () => {
    getDecodedBuffer(info: OpenJphImageInfo): Uint8Array;
    getEncodedBuffer(): Uint8Array;
    encode(): void;
    setQuality(lossless: boolean, quantizationStep: number): void;
    setProgressionOrder(order: number): void;
    setTLMMarker(on: boolean): void;
    setDecompositions(levels: number): void;
    setBlockDimensions(size: { width: number; height: number }): void;
  };
  HTJ2KDecoder: new () => {
    getEncodedBuffer(length: number): Uint8Array;
    decode(): void;
    getDecodedBuffer(): Uint8Array;
    getFrameInfo(): OpenJphImageInfo;
    delete(): void;
  };
}

interface CodecContext {
  getDecodedBuffer(): Uint8Array | undefined;
  getEncodedBuffer(): Uint8Array | undefined;
  getPlanarConfiguration(): number | undefined;
  getPhotometricInterpretation(): string | undefined;
}
interface DcmjsCodecs {
  Context: new (attrs: Record<string, unknown>) => CodecContext;
  NativeCodecs: {
    initializeAsync(): Promise<void>;
    decodeRle(c: CodecContext): CodecContext;
    decodeJpeg(c: CodecContext, p?: { convertColorspaceToRgb?: boolean }): CodecContext;
    decodeJpegLs(c: CodecContext): CodecContext;
    decodeJpeg2000(c: CodecContext): CodecContext;
    encodeJpeg2000(c: CodecContext, p?: { lossy?: boolean; progressionOrder?: number }): CodecContext;
  };
  constants: { Jpeg2000ProgressionOrder: { Rpcl: number } };
}

/** OpenJPH progression order code for RPCL (LRCP 0, RLCP 1, RPCL 2, PCRL 3, CPRL 4). */
const RPCL = 2;

let openjph: Promise<OpenJph> | undefined;
let dcmjsCodecs: Promise<DcmjsCodecs> | undefined;
let encoder: InstanceType<OpenJph['HTJ2KEncoder']> | undefined;

const loadOpenJph = () => (openjph ??= (require('@cornerstonejs/codec-openjph') as () => Promise<OpenJph>)());
const loadDcmjsCodecs = () =>
  (dcmjsCodecs ??= (async () => {
    const codecs = require('dcmjs-codecs') as DcmjsCodecs & { log?: { setLevel(level: string): void } };
    codecs.log?.setLevel('error');
    await codecs.NativeCodecs.initializeAsync();
    return codecs;
  })());

const HTJ2K = new Set<string>([TS.htj2kLossless, TS.htj2kLosslessRpcl, TS.htj2k]);
const JPEG = new Set<string>([TS.jpegBaseline, TS.jpegExtended, TS.jpegLossless, TS.jpegLosslessSV1]);
const JPEG_LS = new Set<string>([TS.jpegLsLossless, TS.jpegLsNearLossless]);
const J2K = new Set<string>([TS.j2kLossless, TS.j2k, '1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93']);
const NATIVE = new Set<string>([TS.implicitLE, TS.explicitLE, TS.deflatedLE, TS.explicitBE]);

export class UnsupportedTransferSyntaxError extends Error {
  override readonly name = 'UnsupportedTransferSyntaxError';
}

export function canDecode(transferSyntaxUID: string): boolean {
  return HTJ2K.has(transferSyntaxUID) || JPEG.has(transferSyntaxUID) || JPEG_LS.has(transferSyntaxUID) || J2K.has(transferSyntaxUID) || NATIVE.has(transferSyntaxUID) || transferSyntaxUID === TS.rle;
}

const bytesPerSample = (bitsAllocated: number) => (bitsAllocated <= 8 ? 1 : bitsAllocated <= 16 ? 2 : 4);

function frameOf(geometry: FrameGeometry, pixels: Uint8Array, samplesPerPixel = geometry.samplesPerPixel): DecodedFrame {
  return { width: geometry.columns, height: geometry.rows, samplesPerPixel, bitsAllocated: geometry.bitsAllocated, signed: geometry.pixelRepresentation === 1, pixels };
}

/** Planar (RRR…GGG…BBB…) to interleaved (RGBRGB…). */
function interleave(planar: Uint8Array, geometry: FrameGeometry): Uint8Array {
  const sampleBytes = bytesPerSample(geometry.bitsAllocated);
  const pixels = geometry.rows * geometry.columns;
  const spp = geometry.samplesPerPixel;
  const out = new Uint8Array(planar.length);
  for (let s = 0; s < spp; s++) {
    for (let p = 0; p < pixels; p++) {
      const from = (s * pixels + p) * sampleBytes;
      const to = (p * spp + s) * sampleBytes;
      for (let b = 0; b < sampleBytes; b++) out[to + b] = planar[from + b]!;
    }
  }
  return out;
}

async function decodeHtj2k(bytes: Uint8Array, geometry: FrameGeometry): Promise<DecodedFrame> {
  const m = await loadOpenJph();
  const decoder = new m.HTJ2KDecoder();
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    // Copy out of the WASM heap: the view dies with the decoder.
    const pixels = Uint8Array.from(decoder.getDecodedBuffer());
    return { width: info.width, height: info.height, samplesPerPixel: info.componentCount, bitsAllocated: info.bitsPerSample <= 8 ? 8 : geometry.bitsAllocated > 16 ? 32 : 16, signed: info.isSigned, pixels };
  } finally {
    decoder.delete();
  }
}

/** Decodes one stored or received frame into little-endian, interleaved samples. */
export async function decodeFrame(bytes: Uint8Array, transferSyntaxUID: string, geometry: FrameGeometry): Promise<DecodedFrame> {
  if (NATIVE.has(transferSyntaxUID)) {
    const pixels = geometry.samplesPerPixel > 1 && geometry.planarConfiguration === 1 ? interleave(bytes, geometry) : bytes.slice();
    return frameOf(geometry, pixels);
  }
  if (HTJ2K.has(transferSyntaxUID)) return decodeHtj2k(bytes, geometry);
  const codecs = await loadDcmjsCodecs();
  const context = new codecs.Context({
    width: geometry.columns,
    height: geometry.rows,
    bitsAllocated: geometry.bitsAllocated,
    bitsStored: geometry.bitsStored,
    samplesPerPixel: geometry.samplesPerPixel,
    pixelRepresentation: geometry.pixelRepresentation,
    planarConfiguration: geometry.planarConfiguration,
    photometricInterpretation: geometry.photometricInterpretation,
    encodedBuffer: bytes,
  });
  let decoded: CodecContext;
  if (transferSyntaxUID === TS.rle) decoded = codecs.NativeCodecs.decodeRle(context);
  // Colour JPEG is YBR inside; deliver RGB, which is what the frame is rendered as.
  else if (JPEG.has(transferSyntaxUID)) decoded = codecs.NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: geometry.samplesPerPixel === 3 });
  else if (JPEG_LS.has(transferSyntaxUID)) decoded = codecs.NativeCodecs.decodeJpegLs(context);
  else if (J2K.has(transferSyntaxUID)) decoded = codecs.NativeCodecs.decodeJpeg2000(context);
  else throw new UnsupportedTransferSyntaxError(`No decoder for transfer syntax ${transferSyntaxUID}`);
  const out = decoded.getDecodedBuffer();
  if (!out) throw new Error(`decoding ${transferSyntaxUID} produced no pixels`);
  const pixels = geometry.samplesPerPixel > 1 && decoded.getPlanarConfiguration() === 1 ? interleave(out, geometry) : Uint8Array.from(out);
  return frameOf(geometry, pixels);
}

/** Number of wavelet decompositions so that the lowest resolution is at most 64 pixels on its long edge. */
export function decompositionsFor(width: number, height: number): number {
  let levels = 0;
  for (let edge = Math.max(width, height); edge > 64 && levels < 5; edge = Math.ceil(edge / 2)) levels++;
  return levels;
}

/** Lossless HTJ2K codestream with RPCL progression and TLM markers, as transfer syntax 1.2.840.10008.1.2.4.202 requires. */
export async function encodeHtj2kLosslessRpcl(frame: DecodedFrame): Promise<Uint8Array> {
  const m = await loadOpenJph();
  // One encoder, reused: OpenJPH's first encode is slow, later ones are not. Encoding is synchronous, so
  // concurrent callers cannot interleave on it.
  encoder ??= new m.HTJ2KEncoder();
  const bitsPerSample = frame.bitsAllocated;
  encoder
    .getDecodedBuffer({ width: frame.width, height: frame.height, bitsPerSample, componentCount: frame.samplesPerPixel, isSigned: frame.signed, isUsingColorTransform: false })
    .set(frame.pixels);
  encoder.setQuality(true, 0);
  encoder.setProgressionOrder(RPCL);
  encoder.setTLMMarker(true);
  encoder.setDecompositions(decompositionsFor(frame.width, frame.height));
  encoder.setBlockDimensions({ width: 64, height: 64 });
  encoder.encode();
  return Uint8Array.from(encoder.getEncodedBuffer());
}

/** Lossless JPEG 2000 (1.2.840.10008.1.2.4.90), for datastores created with losslessStorageFormat JPEG_2000_LOSSLESS. */
export async function encodeJ2kLossless(frame: DecodedFrame): Promise<Uint8Array> {
  const codecs = await loadDcmjsCodecs();
  const context = new codecs.Context({
    width: frame.width,
    height: frame.height,
    bitsAllocated: frame.bitsAllocated,
    bitsStored: frame.bitsAllocated,
    samplesPerPixel: frame.samplesPerPixel,
    pixelRepresentation: frame.signed ? 1 : 0,
    planarConfiguration: 0,
    photometricInterpretation: frame.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    decodedBuffer: frame.pixels,
  });
  const encoded = codecs.NativeCodecs.encodeJpeg2000(context, { lossy: false, progressionOrder: codecs.constants.Jpeg2000ProgressionOrder.Rpcl }).getEncodedBuffer();
  if (!encoded) throw new Error('JPEG 2000 encoding produced no bytes');
  return Uint8Array.from(encoded);
}
