import { describe, expect, it } from 'vitest';
import { canEncodeHtj2k, containsRangeMinimum, decodeFrame, decompositionsFor, encodeHtj2kLosslessRpcl, encodeJ2kLossless } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import { DicomParseError, parseP10 } from '../../src/dicom/p10.js';
import { syntheticMultiframe } from '../../src/dicom/synthetic.js';
import { TS, type DecodedFrame, type FrameGeometry } from '../../src/dicom/types.js';
import { dcmtk, firstDifference, haveDcmtk, haveSamples, readMainHeader, sample } from './samples.js';

function geometryOf(frame: DecodedFrame, photometricInterpretation = frame.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2'): FrameGeometry {
  return {
    rows: frame.height,
    columns: frame.width,
    samplesPerPixel: frame.samplesPerPixel,
    bitsAllocated: frame.bitsAllocated,
    bitsStored: frame.bitsAllocated,
    pixelRepresentation: frame.signed ? 1 : 0,
    photometricInterpretation,
    planarConfiguration: 0,
    numberOfFrames: 1,
  };
}

function range(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  return { min, max };
}

/** A frame with structure (gradients, edges) and noise, so the codec has to work for its compression. */
/** The same frame with every sample at the lowest value of its type raised by one. */
function withoutRangeMinimum(frame: DecodedFrame): DecodedFrame {
  const pixels = frame.pixels.slice();
  const step = frame.bitsAllocated === 8 ? 1 : 2;
  for (let i = 0; i < pixels.length; i += step) {
    const isMinimum = step === 1 ? pixels[i] === (frame.signed ? 0x80 : 0) : pixels[i] === 0 && pixels[i + 1] === (frame.signed ? 0x80 : 0);
    if (isMinimum) pixels[i] = 1;
  }
  return { ...frame, pixels };
}

function testFrame(width: number, height: number, samplesPerPixel: number, bitsAllocated: 8 | 16, signed: boolean): DecodedFrame {
  const count = width * height * samplesPerPixel;
  const samples = bitsAllocated === 8 ? (signed ? new Int8Array(count) : new Uint8Array(count)) : signed ? new Int16Array(count) : new Uint16Array(count);
  const [low, high] = bitsAllocated === 8 ? (signed ? [-128, 127] : [0, 255]) : signed ? [-32768, 32767] : [0, 65535];
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const p = Math.floor(i / samplesPerPixel);
    const x = p % width;
    const y = Math.floor(p / width);
    const smooth = ((x * 3 + y * 5 + (i % samplesPerPixel) * 40) % 200) / 200;
    const edge = x > width / 2 ? 0.3 : 0;
    const value = low + (high - low) * Math.min(1, smooth * 0.6 + edge) + ((seed >>> 16) % 9) - 4;
    samples[i] = Math.max(low, Math.min(high, Math.round(value)));
  }
  // The extremes must survive too.
  samples[0] = low;
  samples[count - 1] = high;
  return { width, height, samplesPerPixel, bitsAllocated, signed, pixels: new Uint8Array(samples.buffer) };
}

describe('HTJ2K lossless RPCL encoding', () => {
  const cases: Array<[string, DecodedFrame]> = [
    ['8-bit unsigned', testFrame(300, 200, 1, 8, false)],
    ['16-bit signed', testFrame(512, 512, 1, 16, true)],
    ['16-bit unsigned', testFrame(257, 129, 1, 16, false)],
    ['RGB 8-bit', testFrame(100, 75, 3, 8, false)],
    ['1×1', testFrame(1, 1, 1, 16, true)],
  ];

  it.each(cases)('round-trips %s bit-exactly, and the decoded CRC32 is the input CRC32', async (_, frame) => {
    const codestream = await encodeHtj2kLosslessRpcl(frame);
    const decoded = await decodeFrame(codestream, TS.htj2kLosslessRpcl, geometryOf(frame));
    expect(firstDifference(decoded.pixels, frame.pixels)).toBeUndefined();
    expect(crc32(decoded.pixels)).toBe(crc32(frame.pixels));
    expect(decoded).toMatchObject({ width: frame.width, height: frame.height, samplesPerPixel: frame.samplesPerPixel, bitsAllocated: frame.bitsAllocated, signed: frame.signed });
  });

  // Frames holding the lowest value of the sample range go to another encoder (see encodeHtj2kLosslessRpcl and
  // htj2k-extremes.test.ts); the codestream layout checked here is that of the frames that do not.
  it.each(cases)('writes %s as a .202 codestream: RPCL, reversible, TLM, ≤ 64 px base, 64×64 blocks', async (_, full) => {
    const frame = withoutRangeMinimum(full);
    expect(containsRangeMinimum(frame)).toBe(false);
    const codestream = await encodeHtj2kLosslessRpcl(frame);
    expect([...codestream.subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);
    const header = readMainHeader(codestream);
    expect(header).toMatchObject({
      width: frame.width,
      height: frame.height,
      components: frame.samplesPerPixel,
      precision: frame.bitsAllocated,
      signed: frame.signed,
      progressionOrder: 2, // RPCL
      reversible: true,
      colourTransform: frame.samplesPerPixel === 3,
      codeBlockWidth: 64,
      codeBlockHeight: 64,
      hasTlm: true,
      hasCap: true,
    });
    const base = Math.ceil(Math.max(frame.width, frame.height) / 2 ** header.decompositions);
    expect(base).toBeLessThanOrEqual(64);
    // One tile-part per resolution, which is what TLM lets a client find.
    expect(header.tileParts).toBe(header.decompositions + 1);
  });

  it('gives concurrent callers the same codestreams as sequential ones (one shared, lazily loaded encoder)', async () => {
    const frames = cases.map(([, frame]) => frame);
    const concurrent = await Promise.all(frames.map((frame) => encodeHtj2kLosslessRpcl(frame)));
    for (const [i, frame] of frames.entries()) {
      expect(firstDifference(concurrent[i]!, await encodeHtj2kLosslessRpcl(frame))).toBeUndefined();
    }
  });

  it('chooses the fewest decompositions (at most 5) that bring the long edge to 64 px', () => {
    expect(decompositionsFor(64, 64)).toBe(0);
    expect(decompositionsFor(65, 10)).toBe(1);
    expect(decompositionsFor(512, 512)).toBe(3);
    expect(decompositionsFor(300, 2000)).toBe(5);
    expect(decompositionsFor(8192, 8192)).toBe(5);
  });

  it('refuses 16-bit colour and signed 8-bit, which the OpenJPH WASM codec mangles', async () => {
    for (const frame of [testFrame(16, 16, 3, 16, false), testFrame(16, 16, 1, 8, true)]) {
      expect(canEncodeHtj2k(frame)).toBe(false);
      await expect(encodeHtj2kLosslessRpcl(frame)).rejects.toThrow(DicomParseError);
    }
  });
});

describe('JPEG 2000 lossless encoding', () => {
  it.each([
    ['16-bit signed', testFrame(128, 96, 1, 16, true)],
    ['RGB 8-bit', testFrame(40, 30, 3, 8, false)],
  ])('round-trips %s bit-exactly', async (_, frame) => {
    const codestream = await encodeJ2kLossless(frame);
    expect([...codestream.subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);
    expect(readMainHeader(codestream)).toMatchObject({ reversible: true, progressionOrder: 2, hasCap: false });
    const decoded = await decodeFrame(codestream, TS.j2kLossless, geometryOf(frame));
    expect(firstDifference(decoded.pixels, frame.pixels)).toBeUndefined();
  });
});

describe.skipIf(!haveSamples)('decoding the pydicom samples', () => {
  it('decodes every encoding of MR_small to exactly the native pixels', async () => {
    const native = parseP10(sample('MR_small.dcm')).frameData[0]!;
    for (const name of ['MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm']) {
      const parsed = parseP10(sample(name));
      const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
      expect(firstDifference(decoded.pixels, native), name).toBeUndefined();
      expect(decoded).toMatchObject({ width: 64, height: 64, bitsAllocated: 16, signed: true, samplesPerPixel: 1 });
    }
  });

  it('decodes colour RLE to interleaved RGB', async () => {
    const parsed = parseP10(sample('SC_rgb_rle_2frame.dcm'));
    const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    // The pydicom sample is colour bars, starting with pure red.
    expect([...decoded.pixels.subarray(0, 6)]).toEqual([255, 0, 0, 255, 0, 0]);
  });

  it('converts planar colour (PlanarConfiguration 1) to interleaved', async () => {
    const parsed = parseP10(sample('ExplVR_BigEnd.dcm'));
    expect(parsed.geometry).toMatchObject({ planarConfiguration: 1, samplesPerPixel: 3 });
    const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    const planar = parsed.frameData[0]!;
    const pixelCount = 60 * 80;
    for (const p of [0, 1, 1234, pixelCount - 1]) {
      expect([...decoded.pixels.subarray(p * 3, p * 3 + 3)]).toEqual([planar[p], planar[pixelCount + p], planar[2 * pixelCount + p]]);
    }
  });

  it('returns YBR JPEG as RGB, and JPEG marked RGB as stored', async () => {
    const rle = parseP10(sample('SC_rgb_rle.dcm'));
    const reference = (await decodeFrame(rle.frameData[0]!, rle.transferSyntaxUID, rle.geometry!)).pixels;
    const ybr = parseP10(sample('SC_rgb_jpeg_dcmtk.dcm'));
    expect(ybr.geometry!.photometricInterpretation).toBe('YBR_FULL');
    const rgb = (await decodeFrame(ybr.frameData[0]!, ybr.transferSyntaxUID, ybr.geometry!)).pixels;
    let worst = 0;
    for (let i = 0; i < rgb.length; i++) worst = Math.max(worst, Math.abs(rgb[i]! - reference[i]!));
    expect(worst).toBeLessThan(16); // lossy, but RGB: a YCbCr result would be off by ~255

    // dcmtk decompressed this RGB JPEG into SC_rgb_jpeg_dcmd.dcm; our decoding must give the same bytes.
    const jpeg = parseP10(sample('SC_jpeg_no_color_transform.dcm'));
    const dcmd = parseP10(sample('SC_rgb_jpeg_dcmd.dcm'));
    const decoded = await decodeFrame(jpeg.frameData[0]!, jpeg.transferSyntaxUID, jpeg.geometry!);
    expect(firstDifference(decoded.pixels, dcmd.frameData[0]!)).toBeUndefined();
  });

  it('decodes 12-bit JPEG extended', async () => {
    const parsed = parseP10(sample('JPEG-lossy.dcm'));
    const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    expect(decoded.pixels.length).toBe(1024 * 256 * 2);
    expect(range(new Uint16Array(decoded.pixels.buffer, decoded.pixels.byteOffset, 1024 * 256)).max).toBeLessThan(4096);
  });

  it('sign-extends signed data from a codestream coded as unsigned', async () => {
    const parsed = parseP10(sample('J2K_pixelrep_mismatch.dcm'));
    expect(parsed.geometry).toMatchObject({ bitsStored: 13, pixelRepresentation: 1 });
    const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    const { min, max } = range(new Int16Array(decoded.pixels.buffer, decoded.pixels.byteOffset, 512 * 512));
    expect(min).toBe(-2000); // the CT's padding, coded as 0x1830 in 13 unsigned bits
    expect(max).toBeLessThan(4096);
  });

  it('keeps 1-bit frames packed', async () => {
    const parsed = parseP10(sample('liver_1frame.dcm'));
    const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    expect(decoded).toMatchObject({ bitsAllocated: 1, width: 512, height: 512 });
    expect(firstDifference(decoded.pixels, parsed.frameData[0]!)).toBeUndefined();
  });

  it('reports a corrupt frame as a DicomParseError and keeps working afterwards', async () => {
    const parsed = parseP10(sample('MR_small_jpeg_ls_lossless.dcm'));
    const corrupt = parsed.frameData[0]!.slice();
    corrupt.fill(7, 20);
    await expect(decodeFrame(corrupt, parsed.transferSyntaxUID, parsed.geometry!)).rejects.toThrow(DicomParseError);
    const j2k = parseP10(sample('MR_small_jp2klossless.dcm'));
    const broken = j2k.frameData[0]!.slice();
    broken.fill(7, 100);
    await expect(decodeFrame(broken, j2k.transferSyntaxUID, j2k.geometry!)).rejects.toThrow(/could not be decoded/);
    await expect(decodeFrame(new Uint8Array([0xff, 0x4f, 0xff, 0x51, 0, 1, 2]), TS.htj2kLosslessRpcl, j2k.geometry!)).rejects.toThrow(DicomParseError);
    const good = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    expect(firstDifference(good.pixels, parseP10(sample('MR_small.dcm')).frameData[0]!)).toBeUndefined();
  });

  it('refuses to decode video and unknown syntaxes', async () => {
    const geometry = parseP10(sample('MR_small.dcm')).geometry!;
    await expect(decodeFrame(new Uint8Array(8), '1.2.840.10008.1.2.4.102', geometry)).rejects.toThrow(/video/);
    await expect(decodeFrame(new Uint8Array(8), '1.2.840.10008.1.2.4.53', geometry)).rejects.toThrow(/not supported/);
  });
});

describe.skipIf(!haveSamples || !haveDcmtk)('decoding files compressed independently by dcmtk', () => {
  it('JPEG lossless SV1, JPEG-LS and RLE copies of CT_small decode to its native pixels', async () => {
    const original = sample('CT_small.dcm');
    const native = parseP10(original).frameData[0]!;
    for (const [tool, options, syntax] of [
      ['dcmcjpeg', ['+e1'], TS.jpegLosslessSV1],
      ['dcmcjpls', ['+el'], TS.jpegLsLossless],
      ['dcmcrle', [], TS.rle],
    ] as const) {
      const parsed = parseP10(dcmtk(tool, [...options], original));
      expect(parsed.transferSyntaxUID, tool).toBe(syntax);
      const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
      expect(firstDifference(decoded.pixels, native), tool).toBeUndefined();
    }
  });

  it('an RLE copy of planar colour decodes to the same interleaved pixels', async () => {
    const original = sample('ExplVR_BigEnd.dcm');
    const parsed = parseP10(original);
    const reference = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
    const rle = parseP10(dcmtk('dcmcrle', [], original));
    expect(rle.transferSyntaxUID).toBe(TS.rle);
    const decoded = await decodeFrame(rle.frameData[0]!, rle.transferSyntaxUID, rle.geometry!);
    expect(firstDifference(decoded.pixels, reference.pixels)).toBeUndefined();
  });

  it('multi-frame JPEG lossless split into many fragments per frame, with and without an offset table', async () => {
    const original = syntheticMultiframe({ patientName: 'DEMO^FRAGMENTS', patientId: 'DEMO-F', frames: 4, rows: 128, columns: 128, seed: 9 });
    const native = parseP10(original).frameData;
    for (const table of ['+ot', '-ot']) {
      const parsed = parseP10(dcmtk('dcmcjpeg', ['+e1', '+fs', '1', table], original));
      expect(parsed.frameData, table).toHaveLength(4);
      for (let f = 0; f < 4; f++) {
        const decoded = await decodeFrame(parsed.frameData[f]!, parsed.transferSyntaxUID, parsed.geometry!);
        expect(firstDifference(decoded.pixels, native[f]!), `${table} frame ${f}`).toBeUndefined();
      }
    }
  });
});
