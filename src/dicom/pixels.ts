/**
 * Pure helpers over pixel buffers: byte order, sample layout, bit extraction and value ranges. Buffers are
 * little-endian throughout (the platforms Node runs on are), so typed-array views read samples directly.
 */
import { Buffer } from 'node:buffer';
import type { DecodedFrame } from './types.js';

/** Bytes one sample occupies for a BitsAllocated value (1-bit data is packed; callers handle it apart). */
export function bytesPerSample(bitsAllocated: number): number {
  return Math.ceil(bitsAllocated / 8);
}

/** A little-endian copy of big-endian samples of `wordSize` bytes. */
export function swapToLittleEndian(bytes: Uint8Array, wordSize: number): Uint8Array {
  const copy = Buffer.from(bytes);
  if (wordSize === 2) copy.swap16();
  else if (wordSize === 4) copy.swap32();
  else if (wordSize === 8) copy.swap64();
  return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}

/** Planar (RRR…GGG…BBB…, PlanarConfiguration 1) to interleaved (RGBRGB…). */
export function planarToInterleaved(planar: Uint8Array, samplesPerPixel: number, sampleBytes: number): Uint8Array {
  const pixelCount = Math.floor(planar.length / (samplesPerPixel * sampleBytes));
  const out = new Uint8Array(pixelCount * samplesPerPixel * sampleBytes);
  for (let s = 0; s < samplesPerPixel; s++) {
    const plane = s * pixelCount * sampleBytes;
    for (let p = 0; p < pixelCount; p++) {
      const from = plane + p * sampleBytes;
      const to = (p * samplesPerPixel + s) * sampleBytes;
      for (let b = 0; b < sampleBytes; b++) out[to + b] = planar[from + b]!;
    }
  }
  return out;
}

/** Interleaved (RGBRGB…) to planar (RRR…GGG…BBB…), the layout of native data with PlanarConfiguration 1. */
export function interleavedToPlanar(interleaved: Uint8Array, samplesPerPixel: number, sampleBytes: number): Uint8Array {
  const pixelCount = Math.floor(interleaved.length / (samplesPerPixel * sampleBytes));
  const out = new Uint8Array(pixelCount * samplesPerPixel * sampleBytes);
  for (let s = 0; s < samplesPerPixel; s++) {
    const plane = s * pixelCount * sampleBytes;
    for (let p = 0; p < pixelCount; p++) {
      const from = (p * samplesPerPixel + s) * sampleBytes;
      const to = plane + p * sampleBytes;
      for (let b = 0; b < sampleBytes; b++) out[to + b] = interleaved[from + b]!;
    }
  }
  return out;
}

/**
 * Native YBR_FULL_422 (PS3.3 C.7.6.3.1.2: Y1 Y2 Cb Cr per pixel pair) to one Y Cb Cr triple per pixel, repeating
 * each chroma pair for both pixels. Nothing is lost, and every codec can take three samples per pixel.
 */
export function ybrFull422ToFull(packed: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const pair = (y * width + (x & ~1)) * 2;
      const o = (y * width + x) * 3;
      out[o] = packed[pair + (x & 1)]!;
      out[o + 1] = packed[pair + 2]!;
      out[o + 2] = packed[pair + 3]!;
    }
  }
  return out;
}

/** The `bitCount` bits starting at bit `bitOffset` of 1-bit packed data (LSB first, PS3.5 §8.1.1), byte-aligned. */
export function extractBits(packed: Uint8Array, bitOffset: number, bitCount: number): Uint8Array {
  const byteCount = Math.ceil(bitCount / 8);
  const first = bitOffset >>> 3;
  const shift = bitOffset & 7;
  if (shift === 0) return packed.subarray(first, first + byteCount);
  const out = new Uint8Array(byteCount);
  for (let i = 0; i < byteCount; i++) out[i] = ((packed[first + i]! >>> shift) | ((packed[first + i + 1] ?? 0) << (8 - shift))) & 0xff;
  const tail = bitCount & 7;
  if (tail) out[byteCount - 1]! &= (1 << tail) - 1;
  return out;
}

/**
 * Sign-extends samples whose sign bit is bit `precision - 1` (a codec that cannot carry a sign, like JPEG or
 * JPEG-LS, returns a signed 12-bit -1 as 0x0FFF). Returns a new buffer.
 */
export function signExtend(pixels: Uint8Array, bitsAllocated: number, precision: number): Uint8Array {
  const out = pixels.slice();
  const shift = 32 - precision;
  const samples = bitsAllocated === 8 ? new Int8Array(out.buffer) : bitsAllocated === 16 ? new Int16Array(out.buffer) : new Int32Array(out.buffer);
  for (let i = 0; i < samples.length; i++) samples[i] = (samples[i]! << shift) >> shift;
  return out;
}

/** Widens 8-bit samples to 16 bits (a codestream may be coded at 8 bits for data allocated in 16). */
export function widenTo16(pixels: Uint8Array, signed: boolean): Uint8Array {
  const source = signed ? new Int8Array(pixels.buffer, pixels.byteOffset, pixels.length) : pixels;
  const out = signed ? new Int16Array(pixels.length) : new Uint16Array(pixels.length);
  out.set(source);
  return new Uint8Array(out.buffer);
}

type SampleArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** The samples of a frame as numbers; copies only when the bytes are not aligned for the view. */
export function samplesOf(pixels: Uint8Array, bitsAllocated: number, signed: boolean): SampleArray {
  const width = bytesPerSample(bitsAllocated);
  const aligned = pixels.byteOffset % width === 0 ? pixels : pixels.slice();
  const { buffer, byteOffset } = aligned;
  const count = Math.floor(aligned.length / width);
  if (width === 1) return signed ? new Int8Array(buffer, byteOffset, count) : aligned;
  if (width === 2) return signed ? new Int16Array(buffer, byteOffset, count) : new Uint16Array(buffer, byteOffset, count);
  return signed ? new Int32Array(buffer, byteOffset, count) : new Uint32Array(buffer, byteOffset, count);
}

export interface ValueRange {
  min: number;
  max: number;
}

/**
 * Smallest and largest stored pixel value over all samples. Only the low `bitsStored` bits are the value
 * (PS3.5 §8.1.1); the bits above may hold anything, so they are masked out (unsigned) or replaced by the
 * sign (signed) when `bitsStored` is smaller than the allocation.
 */
export function valueRange(frame: DecodedFrame, bitsStored: number): ValueRange {
  if (frame.bitsAllocated === 1) return bitRange(frame.pixels, frame.width * frame.height);
  const samples = samplesOf(frame.pixels, frame.bitsAllocated, frame.signed);
  if (samples.length === 0) return { min: 0, max: 0 };
  const range = plainRange(samples);
  if (bitsStored >= frame.bitsAllocated || fitsIn(range, bitsStored, frame.signed)) return range;
  return maskedRange(samples, bitsStored, frame.signed);
}

function plainRange(samples: SampleArray): ValueRange {
  let min = samples[0]!;
  let max = min;
  for (let i = 1; i < samples.length; i++) {
    const v = samples[i]!;
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  return { min, max };
}

function fitsIn(range: ValueRange, bits: number, signed: boolean): boolean {
  return signed ? range.min >= -(2 ** (bits - 1)) && range.max < 2 ** (bits - 1) : range.min >= 0 && range.max < 2 ** bits;
}

function maskedRange(samples: SampleArray, bitsStored: number, signed: boolean): ValueRange {
  const shift = 32 - bitsStored;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    const v = signed ? (samples[i]! << shift) >> shift : (samples[i]! << shift) >>> shift;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

function bitRange(packed: Uint8Array, pixelCount: number): ValueRange {
  let ones = false;
  let zeros = false;
  for (let bit = 0; bit < pixelCount && !(ones && zeros); bit++) {
    if ((packed[bit >>> 3]! >>> (bit & 7)) & 1) ones = true;
    else zeros = true;
  }
  return { min: zeros ? 0 : 1, max: ones ? 1 : 0 };
}
