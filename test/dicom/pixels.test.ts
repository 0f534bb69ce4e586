import { describe, expect, it } from 'vitest';
import { extractBits, interleavedToPlanar, planarToInterleaved, signExtend, swapToLittleEndian, valueRange, ybrFull422ToFull } from '../../src/dicom/pixels.js';

const frame = (pixels: Uint8Array, bitsAllocated: number, signed: boolean, width = pixels.length / (bitsAllocated / 8), height = 1) => ({
  width, height, samplesPerPixel: 1, bitsAllocated, signed, pixels,
});

describe('pixel helpers', () => {
  it('extracts 1-bit frames that do not start on a byte (LSB first)', () => {
    // Three 3×3 frames = 27 bits: frame 1 starts at bit 9.
    const bits = [1, 0, 0, 0, 0, 0, 0, 0, 1, /**/ 1, 1, 0, 1, 0, 0, 0, 0, 1, /**/ 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const packed = new Uint8Array(4);
    bits.forEach((bit, i) => (packed[i >> 3]! |= bit << (i & 7)));
    expect([...extractBits(packed, 9, 9)]).toEqual([0b00001011, 0b1]);
    expect([...extractBits(packed, 18, 9)]).toEqual([0, 0b1]);
    expect(valueRange({ width: 3, height: 3, samplesPerPixel: 1, bitsAllocated: 1, signed: false, pixels: extractBits(packed, 18, 9) }, 1)).toEqual({ min: 0, max: 1 });
  });

  it('converts between planar and interleaved colour, for 8- and 16-bit samples', () => {
    const interleaved = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...interleavedToPlanar(interleaved, 3, 1)]).toEqual([1, 4, 7, 2, 5, 8, 3, 6, 9]);
    expect([...planarToInterleaved(interleavedToPlanar(interleaved, 3, 1), 3, 1)]).toEqual([...interleaved]);
    const wide = new Uint8Array(new Uint16Array([0x0102, 0x0304, 0x0506, 0x0708, 0x090a, 0x0b0c]).buffer);
    expect([...new Uint16Array(interleavedToPlanar(wide, 3, 2).buffer)]).toEqual([0x0102, 0x0708, 0x0304, 0x090a, 0x0506, 0x0b0c]);
  });

  it('expands native YBR_FULL_422 pixel pairs to full triples', () => {
    // Two pixel pairs: Y1 Y2 Cb Cr.
    expect([...ybrFull422ToFull(new Uint8Array([10, 11, 100, 200, 20, 21, 101, 201]), 4, 1)]).toEqual([10, 100, 200, 11, 100, 200, 20, 101, 201, 21, 101, 201]);
  });

  it('swaps big-endian words', () => {
    expect([...swapToLittleEndian(new Uint8Array([1, 2, 3, 4]), 2)]).toEqual([2, 1, 4, 3]);
    expect([...swapToLittleEndian(new Uint8Array([1, 2, 3, 4]), 4)]).toEqual([4, 3, 2, 1]);
  });

  it('sign-extends from the precision a codec coded', () => {
    const coded = new Uint8Array(new Uint16Array([0x0fff, 0x0800, 0x07ff, 0]).buffer);
    expect([...new Int16Array(signExtend(coded, 16, 12).buffer)]).toEqual([-1, -2048, 2047, 0]);
  });

  it('ranges stored values over the low BitsStored bits only', () => {
    const signed = new Uint8Array(new Int16Array([-2000, 5, 1500]).buffer);
    expect(valueRange(frame(signed, 16, true), 16)).toEqual({ min: -2000, max: 1500 });
    // 12 bits stored with an overlay bit set above them: the value is 0x0005, not 0x8005.
    const overlay = new Uint8Array(new Uint16Array([0x8005, 0x0100]).buffer);
    expect(valueRange(frame(overlay, 16, false), 12)).toEqual({ min: 5, max: 256 });
    // Signed 12 bits that are not sign-extended in their 16-bit words.
    const raw12 = new Uint8Array(new Uint16Array([0x0fff, 0x0001]).buffer);
    expect(valueRange(frame(raw12, 16, true), 12)).toEqual({ min: -1, max: 1 });
    expect(valueRange(frame(new Uint8Array([3, 250, 7]), 8, false), 8)).toEqual({ min: 3, max: 250 });
  });
});
