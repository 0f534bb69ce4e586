import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/dicom/crc32.js';

/** The textbook bit-at-a-time CRC-32, to check the table-driven one against. */
function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32', () => {
  it('gives the standard check value and other known vectors', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
  });

  it('is unsigned and matches the bitwise definition at every length and alignment', () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 2654435761) >>> 24);
    for (let length = 0; length <= 40; length++) {
      for (const offset of [0, 1, 3, 7]) {
        const slice = data.subarray(offset, offset + length);
        const value = crc32(slice);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value, `length ${length} at ${offset}`).toBe(reference(slice));
      }
    }
    expect(crc32(data)).toBe(reference(data));
  });

  it('continues from a previous value', () => {
    const data = new TextEncoder().encode('123456789');
    expect(crc32(data.subarray(5), crc32(data.subarray(0, 5)))).toBe(0xcbf43926);
  });
});
