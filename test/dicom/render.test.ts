import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { DicomParseError, parseP10 } from '../../src/dicom/p10.js';
import { MAX_PNG_BYTES } from '../../src/dicom/png.js';
import { frameAttributes, rasterizeFrame, renderFrame, WINDOW_PRESETS } from '../../src/dicom/render.js';
import { boxDownscale, fitWithin } from '../../src/dicom/resize.js';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { TS, type DecodedFrame, type DicomAttributes } from '../../src/dicom/types.js';
import { linearVoi, selectWindow } from '../../src/dicom/window.js';

function frameOf(samples: Int16Array | Uint16Array | Uint8Array | Uint32Array, width: number, height: number, samplesPerPixel = 1): DecodedFrame {
  return {
    width,
    height,
    samplesPerPixel,
    bitsAllocated: samples.BYTES_PER_ELEMENT * 8,
    signed: samples instanceof Int16Array,
    pixels: new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
  };
}

/** The PNG's pixels, decoded independently of the renderer. */
function pixelsOf(png: Uint8Array): { width: number; height: number; channels: number; data: number[] } {
  const image = decode(png);
  expect(image.depth).toBe(8);
  return { width: image.width, height: image.height, channels: image.channels, data: [...image.data] };
}

/** A noisy 16-bit frame that compresses badly: the worst case for the PNG byte budget. */
function noiseFrame(width: number, height: number): DecodedFrame {
  const samples = new Uint16Array(width * height);
  let seed = 99;
  for (let i = 0; i < samples.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    samples[i] = seed >>> 20;
  }
  return frameOf(samples, width, height);
}

async function ctSlice(size: number): Promise<{ decoded: DecodedFrame; attributes: DicomAttributes }> {
  const parsed = parseP10(syntheticCtSeries({ patientName: 'TEST^RENDER', patientId: 'R1', slices: 1, rows: size, columns: size, seed: 5 })[0]!);
  return {
    decoded: await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!),
    attributes: { ...parsed.series, ...parsed.instance.DICOM },
  };
}

describe('linear VOI function (PS3.3 C.11.2.1.2)', () => {
  it('clips at c − 0.5 ∓ (w − 1)/2 and ramps linearly between', () => {
    const voi = linearVoi({ center: 40, width: 400 });
    expect(voi(-160)).toBe(0); // = c − 0.5 − (w − 1)/2: still the bottom
    expect(voi(-159)).toBeCloseTo(255 * (0.5 + (-159 - 39.5) / 399));
    expect(voi(39.5)).toBe(127.5);
    expect(voi(239)).toBe(255); // = c − 0.5 + (w − 1)/2: the top of the ramp
    expect(voi(239.5)).toBe(255);
    expect(voi(3000)).toBe(255);
  });

  it('is a threshold at width 1', () => {
    const voi = linearVoi({ center: 100, width: 1 });
    expect([voi(99), voi(99.5), voi(99.6), voi(100)]).toEqual([0, 0, 255, 255]);
  });
});

describe('window selection', () => {
  const instance = { center: 40, width: 400 };
  const range = () => ({ min: -1000, max: 1000 });

  it('takes the request, else a preset, else the instance window, else the frame range', () => {
    expect(selectWindow({ center: 1, width: 2 }, instance, range)).toEqual({ center: 1, width: 2, source: 'request' });
    expect(selectWindow('lung', instance, range)).toEqual({ center: -600, width: 1500, source: 'preset:lung' });
    expect(selectWindow(undefined, instance, range)).toEqual({ center: 40, width: 400, source: 'instance' });
    expect(selectWindow(undefined, undefined, range)).toEqual({ center: 0.5, width: 2001, source: 'auto' });
    // `auto` asked for explicitly wins over the instance window.
    expect(selectWindow('auto', instance, range)).toMatchObject({ source: 'auto' });
  });

  it('has the standard CT presets', () => {
    expect(WINDOW_PRESETS).toEqual({
      lung: { center: -600, width: 1500 },
      bone: { center: 400, width: 1800 },
      soft_tissue: { center: 40, width: 400 },
      brain: { center: 40, width: 80 },
    });
  });

  it('rejects invalid requests', () => {
    expect(() => selectWindow({ center: 0, width: 0.5 }, undefined, range)).toThrow(RangeError);
    expect(() => selectWindow({ center: Number.NaN, width: 10 }, undefined, range)).toThrow(RangeError);
    expect(() => selectWindow('liver' as 'lung', undefined, range)).toThrow(/unknown window preset "liver"; the presets are lung, bone, soft_tissue, brain/);
  });

  it('reads the instance window from padded DS strings, multi-valued attributes and numbers', () => {
    const frame = frameOf(new Uint16Array([0, 100]), 2, 1);
    const window = (attributes: DicomAttributes) => rasterizeFrame(frame, attributes).window;
    expect(window({ WindowCenter: ['40 ', '-600'], WindowWidth: ['400 ', '1500'] })).toEqual({ center: 40, width: 400, source: 'instance' });
    expect(window({ WindowCenter: '+4.0E1', WindowWidth: '400\\1500' })).toEqual({ center: 40, width: 400, source: 'instance' });
    expect(window({ WindowCenter: 40, WindowWidth: 400 })).toEqual({ center: 40, width: 400, source: 'instance' });
    // Incomplete or invalid instance windows fall back to the frame's range, and say so.
    expect(window({ WindowCenter: '40' })).toEqual({ center: 50.5, width: 101, source: 'auto' });
    const invalid = rasterizeFrame(frame, { WindowCenter: '40', WindowWidth: '0' });
    expect(invalid.window?.source).toBe('auto');
    expect(invalid.notes.join()).toMatch(/not a usable window/);
  });
});

describe('renderFrame: greyscale', () => {
  it('applies the modality LUT and the window, and writes a one-channel 8-bit PNG', () => {
    // Stored 0, 1000, 1024, 1224, 2000 with intercept −1024: HU −1024, −24, 0, 200, 976. Window 0/400 spans
    // −200 … 200 HU.
    const frame = frameOf(new Int16Array([0, 1000, 1024, 1224, 2000]), 5, 1);
    const result = renderFrame(frame, { RescaleIntercept: '-1024 ', RescaleSlope: '1 ', WindowCenter: ['0'], WindowWidth: ['400'] });
    const image = pixelsOf(result.png);
    expect(image).toMatchObject({ width: 5, height: 1, channels: 1 });
    const voi = linearVoi({ center: 0, width: 400 });
    expect(image.data).toEqual([-1024, -24, 0, 200, 976].map((hu) => Math.round(voi(hu))));
    expect(image.data).toEqual([0, 112, 128, 255, 255]);
    expect(result).toMatchObject({ width: 5, height: 1, channels: 1, sourceWidth: 5, sourceHeight: 1, shrunkToFit: false, notes: [] });
  });

  it('uses a non-integer rescale slope', () => {
    const frame = frameOf(new Uint16Array([0, 1000, 2000]), 3, 1);
    // Slope 0.5, intercept 100: 100, 600, 1100; the automatic window spans them.
    expect(pixelsOf(renderFrame(frame, { RescaleSlope: '0.5', RescaleIntercept: '100' }).png).data).toEqual([0, 128, 255]);
    expect(renderFrame(frame, { RescaleSlope: '0.5', RescaleIntercept: '100' }).window).toEqual({ center: 600.5, width: 1001, source: 'auto' });
  });

  it('reads only the low BitsStored bits, sign-extended when PixelRepresentation is 1', () => {
    // Unsigned 12 bits with garbage (an overlay bit) in bit 15: 0x8000 | 4095 is 4095.
    const unsigned = frameOf(new Uint16Array([0, 0x8000 | 4095, 2048]), 3, 1);
    const attributes = { BitsStored: 12, PixelRepresentation: 0, WindowCenter: '2048', WindowWidth: '4096' };
    expect(pixelsOf(renderFrame(unsigned, attributes).png).data).toEqual([0, 255, 128]);
    // Signed 12 bits stored without sign extension: 0x0FFF is −1, 0x0800 is −2048.
    const signed = { ...frameOf(new Uint16Array([0x0800, 0x0fff, 0x07ff]), 3, 1), signed: true };
    const result = renderFrame(signed, { BitsStored: 12, PixelRepresentation: 1, WindowCenter: '0', WindowWidth: '4096' });
    expect(pixelsOf(result.png).data).toEqual([0, 127, 255]);
  });

  it('inverts MONOCHROME1', () => {
    const frame = frameOf(new Uint16Array([0, 100, 250, 400]), 4, 1);
    const attributes = { WindowCenter: '200', WindowWidth: '400' };
    const mono2 = pixelsOf(renderFrame(frame, { ...attributes, PhotometricInterpretation: 'MONOCHROME2' }).png).data;
    const mono1 = pixelsOf(renderFrame(frame, { ...attributes, PhotometricInterpretation: 'MONOCHROME1 ' }).png).data;
    expect(mono2[0]).toBe(0);
    expect(mono1).toEqual(mono2.map((v) => 255 - v));
  });

  it('keeps 8-bit greyscale grey and renders 1-bit frames black and white', () => {
    const eight = renderFrame(frameOf(new Uint8Array([10, 20, 30, 40]), 2, 2), {});
    expect(pixelsOf(eight.png)).toMatchObject({ channels: 1, data: [0, 85, 170, 255] });
    // 1-bit: 0b1001 in the first byte, LSB first: pixels 1, 0, 0, 1.
    const bits: DecodedFrame = { width: 2, height: 2, samplesPerPixel: 1, bitsAllocated: 1, signed: false, pixels: new Uint8Array([0b1001]) };
    expect(pixelsOf(renderFrame(bits, {}).png).data).toEqual([255, 0, 0, 255]);
  });

  it('spans the automatic window over the frame without its padding', async () => {
    const { decoded, attributes } = await ctSlice(128);
    expect(attributes.PixelPaddingValue).toBe(-2000);
    // The value the automatic window maps to 0 (PS3.3 C.11.2.1.2: c − 0.5 − (w − 1)/2).
    const bottom = (attributes: DicomAttributes) => {
      const window = renderFrame(decoded, attributes, { window: 'auto' }).window!;
      return window.center - 0.5 - (window.width - 1) / 2;
    };
    // Air (≈ −1000 HU) is the lowest value inside the field of view; the padding (−3024 HU) does not count.
    expect(bottom(attributes)).toBeGreaterThan(-1040);
    expect(bottom(attributes)).toBeLessThan(-960);
    expect(bottom({ ...attributes, PixelPaddingValue: undefined })).toBe(-3024);
  });

  it('renders a frame of one value, and one that is all padding, without failing', () => {
    const flat = frameOf(new Uint16Array(16).fill(7), 4, 4);
    expect(pixelsOf(renderFrame(flat, {}).png).data).toEqual(new Array(16).fill(0));
    expect(renderFrame(flat, { PixelPaddingValue: 7 }).window).toEqual({ center: 1, width: 2, source: 'auto' });
  });

  it('applies presets in modality units', async () => {
    const { decoded, attributes } = await ctSlice(128);
    const lung = renderFrame(decoded, attributes, { window: 'lung' });
    const bone = renderFrame(decoded, attributes, { window: 'bone' });
    expect(lung.window).toEqual({ center: -600, width: 1500, source: 'preset:lung' });
    expect(bone.window).toEqual({ center: 400, width: 1800, source: 'preset:bone' });
    // Lung parenchyma (−850 HU, left lung at 41, 64) is mid-grey in the lung window and black in the bone window.
    const at = (png: Uint8Array) => pixelsOf(png).data[64 * 128 + 41]!;
    expect(at(lung.png)).toBeGreaterThan(40);
    expect(at(bone.png)).toBe(0);
  });

  it('takes the window of one frame of an enhanced multi-frame instance from its functional groups', () => {
    const attributes: DicomAttributes = {
      SharedFunctionalGroupsSequence: [{ PixelValueTransformationSequence: [{ RescaleIntercept: '-1024', RescaleSlope: '1' }] }],
      PerFrameFunctionalGroupsSequence: [
        { FrameVOILUTSequence: [{ WindowCenter: '40', WindowWidth: '400' }] },
        { FrameVOILUTSequence: [{ WindowCenter: ['-600'], WindowWidth: ['1500'] }] },
      ],
    };
    expect(frameAttributes(attributes, 1)).toMatchObject({ RescaleIntercept: '-1024', WindowCenter: ['-600'], WindowWidth: ['1500'] });
    const frame = frameOf(new Int16Array([1024 - 160, 1024 + 240]), 2, 1);
    expect(pixelsOf(renderFrame(frame, frameAttributes(attributes, 0)).png).data).toEqual([0, 255]);
    expect(frameAttributes({ WindowCenter: '1' }, 0)).toEqual({ WindowCenter: '1' });
  });
});

describe('renderFrame: colour', () => {
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);

  it('keeps RGB as it is unless a window is asked for', () => {
    const plain = renderFrame(frameOf(rgb, 2, 2, 3), { PhotometricInterpretation: 'RGB', WindowCenter: '5', WindowWidth: '2' });
    expect(plain.window).toBeNull();
    expect(pixelsOf(plain.png)).toMatchObject({ channels: 3, data: [...rgb] });
    const windowed = renderFrame(frameOf(rgb, 2, 2, 3), { PhotometricInterpretation: 'RGB' }, { window: { center: 128, width: 256 } });
    expect(windowed.window).toEqual({ center: 128, width: 256, source: 'request' });
    expect(pixelsOf(windowed.png).data).toEqual([...rgb]);
    const auto = renderFrame(frameOf(new Uint8Array([0, 50, 100]), 1, 1, 3), {}, { window: 'auto' });
    expect(pixelsOf(auto.png).data).toEqual([0, 128, 255]);
  });

  it('scales wider RGB samples to 8 bits', () => {
    const wide = frameOf(new Uint16Array([0, 0x8000, 0xffff]), 1, 1, 3);
    expect(pixelsOf(renderFrame(wide, { PhotometricInterpretation: 'RGB' }).png).data).toEqual([0, 128, 255]);
    const twelve = frameOf(new Uint16Array([0, 2048, 0xf000 | 4095]), 1, 1, 3);
    expect(pixelsOf(renderFrame(twelve, { PhotometricInterpretation: 'RGB', BitsStored: 12 }).png).data).toEqual([0, 128, 255]);
  });

  it('converts YCbCr that the decoder left as it was, and not what a JPEG decoder already converted', () => {
    // Pure red, green and blue, and mid grey, in full-range YCbCr.
    const ycbcr = new Uint8Array([76, 85, 255, 150, 44, 21, 29, 255, 107, 128, 128, 128]);
    const native = renderFrame(frameOf(ycbcr, 2, 2, 3), { PhotometricInterpretation: 'YBR_FULL', TransferSyntaxUID: TS.explicitLE });
    const data = pixelsOf(native.png).data;
    const expected = [255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128];
    data.forEach((v, i) => expect(Math.abs(v - expected[i]!), `sample ${i}`).toBeLessThanOrEqual(2));
    const jpeg = renderFrame(frameOf(ycbcr, 2, 2, 3), { PhotometricInterpretation: 'YBR_FULL_422', TransferSyntaxUID: TS.jpegBaseline });
    expect(pixelsOf(jpeg.png).data).toEqual([...ycbcr]);
    const unknown = renderFrame(frameOf(ycbcr, 2, 2, 3), { PhotometricInterpretation: 'YBR_FULL' });
    expect(pixelsOf(unknown.png).data).toEqual([...ycbcr]);
    expect(unknown.notes.join()).toMatch(/TransferSyntaxUID is absent/);
  });
});

describe('renderFrame: size', () => {
  it('reduces the long edge to maxSize, keeps the aspect ratio, and never enlarges', () => {
    const wide = renderFrame(frameOf(new Uint16Array(2048 * 1024), 2048, 1024), {});
    expect([wide.width, wide.height, wide.sourceWidth, wide.sourceHeight]).toEqual([1024, 512, 2048, 1024]);
    expect(pixelsOf(wide.png)).toMatchObject({ width: 1024, height: 512 });
    const tall = renderFrame(frameOf(new Uint16Array(200 * 512), 200, 512), {}, { maxSize: 300 });
    expect([tall.width, tall.height]).toEqual([117, 300]);
    const small = renderFrame(frameOf(new Uint16Array(64 * 48), 64, 48), {}, { maxSize: 1024 });
    expect([small.width, small.height]).toEqual([64, 48]);
  });

  it('keeps the PNG of a 2048² frame under 1 MB, reducing it further when it must and saying so', async () => {
    const { decoded, attributes } = await ctSlice(2048);
    const ct = renderFrame(decoded, attributes);
    expect([ct.width, ct.height, ct.shrunkToFit]).toEqual([1024, 1024, false]);
    expect(ct.png.length).toBeLessThan(MAX_PNG_BYTES);

    // Pure noise at full size would be about 4 MB.
    const noise = renderFrame(noiseFrame(2048, 2048), {}, { maxSize: 2048 });
    expect(noise.png.length).toBeLessThanOrEqual(MAX_PNG_BYTES);
    expect(noise.shrunkToFit).toBe(true);
    expect(noise.width).toBe(noise.height);
    expect(noise.width).toBeLessThan(2048);
    expect(noise.width).toBeGreaterThan(700); // shrunk by about what the budget needs, not far more
    expect(noise.notes.join()).toMatch(new RegExp(`reduced to ${noise.width}×${noise.height}, below the 2048-pixel maximum, to keep the PNG under 1000000 bytes`));
    expect(renderFrame(noiseFrame(512, 512), {}, { maxBytes: 50_000 }).png.length).toBeLessThanOrEqual(50_000);
  });

  it('rejects invalid sizes and frames it cannot render', () => {
    const frame = frameOf(new Uint16Array(4), 2, 2);
    expect(() => renderFrame(frame, {}, { maxSize: 0 })).toThrow(RangeError);
    expect(() => renderFrame(frame, {}, { maxSize: 1.5 })).toThrow(RangeError);
    expect(() => renderFrame(frame, {}, { maxBytes: 100 })).toThrow(RangeError);
    expect(() => renderFrame(frame, { PhotometricInterpretation: 'PALETTE COLOR' })).toThrow(DicomParseError);
    expect(() => renderFrame(frameOf(new Uint8Array(8), 2, 2, 2), {})).toThrow(/2 samples per pixel/);
    expect(() => renderFrame({ ...frame, pixels: new Uint8Array(6) }, {})).toThrow(/holds 6 bytes; 2×2×1 samples of 16 bits need 8/);
  });
});

describe('box filter', () => {
  it('averages whole blocks for integer ratios', () => {
    const source = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array([0, 10, 20, 30, 40, 50, 60, 70]) };
    expect([...boxDownscale(source, { width: 2, height: 1 }).data]).toEqual([25, 45]);
  });

  it('weighs each source pixel by the area it shares with the output pixel for fractional ratios', () => {
    // 3 → 2: output 0 covers source [0, 1.5), output 1 covers [1.5, 3).
    const source = { width: 3, height: 1, channels: 3 as const, data: new Uint8Array([0, 0, 0, 90, 90, 90, 180, 180, 180]) };
    expect([...boxDownscale(source, { width: 2, height: 1 }).data]).toEqual([30, 30, 30, 150, 150, 150]);
  });

  it('sizes the long edge to the limit', () => {
    expect(fitWithin({ width: 2048, height: 1536 }, 1024)).toEqual({ width: 1024, height: 768 });
    expect(fitWithin({ width: 5000, height: 3 }, 1000)).toEqual({ width: 1000, height: 1 });
    expect(fitWithin({ width: 100, height: 80 }, 1024)).toEqual({ width: 100, height: 80 });
  });
});
