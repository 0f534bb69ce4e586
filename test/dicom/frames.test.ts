import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import { prepareFrames } from '../../src/dicom/frames.js';
import { parseP10 } from '../../src/dicom/p10.js';
import { syntheticCtSeries, syntheticMultiframe } from '../../src/dicom/synthetic.js';
import { TS, type ParsedInstance, type PreparedFrames } from '../../src/dicom/types.js';
import { withAttributes } from '../helpers/dicom-files.js';
import { firstDifference, haveSamples, readMainHeader, sample } from './samples.js';

const htj2k = { losslessFormat: 'HTJ2K' } as const;

/** Decodes each stored frame and checks it against the decoded input and the frame's checksum. */
async function expectLossless(parsed: ParsedInstance, prepared: PreparedFrames): Promise<void> {
  expect(prepared.frames).toHaveLength(parsed.frameData.length);
  for (const [i, frame] of prepared.frames.entries()) {
    const input = await decodeFrame(parsed.frameData[i]!, parsed.transferSyntaxUID, parsed.geometry!);
    const stored = await decodeFrame(frame.bytes, prepared.storedTransferSyntaxUID, parsed.geometry!);
    expect(firstDifference(stored.pixels, input.pixels), `frame ${i}`).toBeUndefined();
    expect(frame.checksum, `frame ${i}`).toBe(crc32(stored.pixels));
    expect(frame).toMatchObject({ width: parsed.geometry!.columns, height: parsed.geometry!.rows });
  }
}

function int16Range(bytes: Uint8Array): { min: number; max: number } {
  const values = new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}

describe('prepareFrames on synthetic data', () => {
  it('stores a CT slice as HTJ2K RPCL whose decoded CRC32 is that of the native pixels', async () => {
    const parsed = parseP10(syntheticCtSeries({ patientName: 'DEMO^FRAMES', patientId: 'DEMO-F', slices: 1, rows: 512, columns: 512, seed: 4 })[0]!);
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.storedTransferSyntaxUID).toBe(TS.htj2kLosslessRpcl);
    const [frame] = prepared.frames;
    expect([...frame!.bytes.subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);
    expect(frame!.checksum).toBe(crc32(parsed.frameData[0]!));
    expect(frame).toMatchObject({ ...int16Range(parsed.frameData[0]!), width: 512, height: 512 });
    expect(frame!.min).toBe(-2000);
    expect(frame!.bytes.length).toBeLessThan(parsed.frameData[0]!.length / 2);
    await expectLossless(parsed, prepared);
  });

  it('stores each frame of a multi-frame instance', async () => {
    const parsed = parseP10(syntheticMultiframe({ patientName: 'DEMO^FRAMES', patientId: 'DEMO-F', frames: 5, rows: 96, columns: 128, seed: 4 }));
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.frames).toHaveLength(5);
    expect(new Set(prepared.frames.map((f) => f.checksum)).size).toBe(5);
    await expectLossless(parsed, prepared);
  });

  it('stores JPEG 2000 lossless for JPEG_2000_LOSSLESS datastores', async () => {
    const parsed = parseP10(syntheticCtSeries({ patientName: 'DEMO^FRAMES', patientId: 'DEMO-F', slices: 1, rows: 64, columns: 64, seed: 5 })[0]!);
    const prepared = await prepareFrames(parsed, { losslessFormat: 'JPEG_2000_LOSSLESS' });
    expect(prepared.storedTransferSyntaxUID).toBe(TS.j2kLossless);
    expect(readMainHeader(prepared.frames[0]!.bytes)).toMatchObject({ hasCap: false, reversible: true });
    expect(prepared.frames[0]!.checksum).toBe(crc32(parsed.frameData[0]!));
    await expectLossless(parsed, prepared);
  });

  it('keeps video frames as received, with checksum 0 and no pixel range', async () => {
    const parsed = parseP10(syntheticMultiframe({ patientName: 'DEMO^VIDEO', patientId: 'DEMO-V', frames: 2, rows: 16, columns: 16, seed: 1 }));
    const stream = new Uint8Array([0, 0, 1, 0xb3, 1, 2, 3, 4]);
    const video: ParsedInstance = { ...parsed, transferSyntaxUID: '1.2.840.10008.1.2.4.102', frameData: [stream] };
    expect(await prepareFrames(video, htj2k)).toEqual({
      storedTransferSyntaxUID: '1.2.840.10008.1.2.4.102',
      frames: [{ bytes: stream, width: 16, height: 16, checksum: 0, min: null, max: null }],
    });
  });
});

describe.skipIf(!haveSamples)('prepareFrames on pydicom samples', () => {
  it('transcodes CT_small (explicit LE, signed 16-bit) losslessly', async () => {
    const parsed = parseP10(sample('CT_small.dcm'));
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.storedTransferSyntaxUID).toBe(TS.htj2kLosslessRpcl);
    expect(prepared.frames[0]).toMatchObject({ checksum: crc32(parsed.frameData[0]!), ...int16Range(parsed.frameData[0]!) });
    await expectLossless(parsed, prepared);
  });

  it('gives every lossless encoding of MR_small the same stored checksum and range', async () => {
    const results = new Set<string>();
    for (const name of ['MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm']) {
      const prepared = await prepareFrames(parseP10(sample(name)), htj2k);
      expect(prepared.storedTransferSyntaxUID, name).toBe(TS.htj2kLosslessRpcl);
      const { checksum, min, max } = prepared.frames[0]!;
      results.add(JSON.stringify({ checksum, min, max }));
    }
    expect([...results]).toEqual([JSON.stringify({ checksum: crc32(parseP10(sample('MR_small.dcm')).frameData[0]!), min: 127, max: 2145 })]);
  });

  it('transcodes the colour RLE frames of SC_rgb_rle_2frame', async () => {
    const parsed = parseP10(sample('SC_rgb_rle_2frame.dcm'));
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.storedTransferSyntaxUID).toBe(TS.htj2kLosslessRpcl);
    expect(prepared.frames.map((f) => [f.min, f.max])).toEqual([[0, 255], [0, 255]]);
    expect(readMainHeader(prepared.frames[0]!.bytes)).toMatchObject({ components: 3, colourTransform: true });
    await expectLossless(parsed, prepared);
  });

  it('transcodes JPEG extended (.51) like HealthImaging does, with a pixel range', async () => {
    const parsed = parseP10(sample('JPEG-lossy.dcm'));
    expect(parsed.transferSyntaxUID).toBe(TS.jpegExtended);
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.storedTransferSyntaxUID).toBe(TS.htj2kLosslessRpcl);
    expect(prepared.frames[0]).toMatchObject({ min: 0, max: 264 });
    await expectLossless(parsed, prepared);
  });

  it('stores planar colour (PlanarConfiguration 1) interleaved, in both lossless formats', async () => {
    const parsed = parseP10(sample('ExplVR_BigEnd.dcm'));
    expect(parsed.geometry).toMatchObject({ planarConfiguration: 1, samplesPerPixel: 3 });
    for (const losslessFormat of ['HTJ2K', 'JPEG_2000_LOSSLESS'] as const) {
      await expectLossless(parsed, await prepareFrames(parsed, { losslessFormat }));
    }
  });

  it('stores native YBR_FULL_422 as full YCbCr triples, in both lossless formats', async () => {
    const parsed = parseP10(sample('SC_ybr_full_422_uncompressed.dcm'));
    for (const losslessFormat of ['HTJ2K', 'JPEG_2000_LOSSLESS'] as const) {
      const prepared = await prepareFrames(parsed, { losslessFormat });
      expect(readMainHeader(prepared.frames[0]!.bytes).components).toBe(3);
      await expectLossless(parsed, prepared);
    }
  });

  it('stores 16-bit planar colour natively in its planar layout', async () => {
    const parsed = parseP10(withAttributes(sample('SC_rgb_rle_16bit_2frame.dcm'), { PlanarConfiguration: 1 }));
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.storedTransferSyntaxUID).toBe(TS.explicitLE);
    // Colour bars starting with red: planar bytes begin with red samples, interleaved ones would go R, G, B.
    expect([...prepared.frames[0]!.bytes.subarray(0, 6)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    await expectLossless(parsed, prepared);
  });

  it('keeps JPEG baseline (.50) and JPEG 2000 lossy (.91) as received, without a pixel range', async () => {
    for (const [name, syntax] of [['SC_rgb_jpeg_dcmtk.dcm', TS.jpegBaseline], ['693_J2KI.dcm', TS.j2k]] as const) {
      const parsed = parseP10(sample(name));
      const prepared = await prepareFrames(parsed, htj2k);
      expect(prepared.storedTransferSyntaxUID, name).toBe(syntax);
      expect(prepared.frames[0]!.bytes).toBe(parsed.frameData[0]);
      const decoded = await decodeFrame(parsed.frameData[0]!, syntax, parsed.geometry!);
      expect(prepared.frames[0], name).toMatchObject({ min: null, max: null, checksum: crc32(decoded.pixels) });
    }
  });

  it('keeps a binary segmentation as Explicit VR Little Endian', async () => {
    const parsed = parseP10(sample('liver_1frame.dcm'));
    const prepared = await prepareFrames(parsed, htj2k);
    expect(prepared.storedTransferSyntaxUID).toBe(TS.explicitLE);
    expect(firstDifference(prepared.frames[0]!.bytes, parsed.frameData[0]!)).toBeUndefined();
    expect(prepared.frames[0]).toMatchObject({ checksum: crc32(parsed.frameData[0]!), min: 0, max: 1 });
  });

  it('stores what HTJ2K cannot hold (32-bit, 16-bit colour) as Explicit VR Little Endian', async () => {
    for (const name of ['rtdose.dcm', 'SC_rgb_rle_16bit_2frame.dcm']) {
      const parsed = parseP10(sample(name));
      const prepared = await prepareFrames(parsed, htj2k);
      expect(prepared.storedTransferSyntaxUID, name).toBe(TS.explicitLE);
      await expectLossless(parsed, prepared);
    }
  });

  it('has no frames for an instance without pixel data', async () => {
    expect(await prepareFrames(parseP10(sample('test-SR.dcm')), htj2k)).toEqual({ storedTransferSyntaxUID: TS.htj2kLosslessRpcl, frames: [] });
  });
});
