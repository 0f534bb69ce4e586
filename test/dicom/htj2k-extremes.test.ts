import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeHtj2kLosslessRpcl } from '../../src/dicom/codecs.js';

/** The lowest value of the sample range is where an earlier encoder went wrong (unsigned 0 → 2^(B-1)). */
describe('HTJ2K storage round-trips the extremes of the sample range', () => {
  const cases = [
    { bits: 8, signed: false, values: [0, 255, 1, 128] },
    { bits: 16, signed: false, values: [0, 65535, 1, 1000] },
    { bits: 16, signed: true, values: [-32768, 32767, 0, -1] },
  ];
  for (const { bits, signed, values } of cases) {
    it(`${signed ? 'signed' : 'unsigned'} ${bits}-bit`, async () => {
      const n = 96 * 80;
      const array = bits === 8 ? new Uint8Array(n) : signed ? new Int16Array(n) : new Uint16Array(n);
      for (let i = 0; i < n; i++) array[i] = values[i % values.length]!;
      const pixels = new Uint8Array(array.buffer);
      const codestream = await encodeHtj2kLosslessRpcl({ width: 96, height: 80, samplesPerPixel: 1, bitsAllocated: bits, signed, pixels });
      const geometry = { rows: 80, columns: 96, samplesPerPixel: 1, bitsAllocated: bits, bitsStored: bits, pixelRepresentation: signed ? 1 : 0, photometricInterpretation: 'MONOCHROME2', planarConfiguration: 0, numberOfFrames: 1 } as const;
      const decoded = await decodeFrame(codestream, '1.2.840.10008.1.2.4.202', geometry);
      expect(Buffer.from(decoded.pixels).equals(Buffer.from(pixels))).toBe(true);
    });
  }
});
