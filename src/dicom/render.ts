/**
 * Decoded frames → PNG images to look at (issue 8). Pure functions: no I/O, no state.
 *
 * Greyscale (PS3.3 C.11): stored values are read from the low BitsStored bits (sign-extended when
 * PixelRepresentation is 1), the Modality LUT (RescaleSlope/RescaleIntercept) turns them into modality units, the
 * linear VOI function maps the chosen window onto 0 … 255 (window.ts says which window), and MONOCHROME1 is
 * inverted, so that bright always means what a reading room shows bright. Rendered greyscale stays a one-channel
 * PNG.
 *
 * Colour stays colour: RGB samples are shown as they are (scaled to 8 bits when stored wider), with a window only
 * when one is requested (the same VOI function on each sample). YCbCr samples are converted to RGB first. The
 * decoders leave them YCbCr except for JPEG, where libjpeg converts (codecs.ts); which of the two a frame holds
 * follows from the TransferSyntaxUID attribute, which in a HealthImaging metadata document is the imported file's,
 * the one whose decoder decided, whatever syntax the frame is stored in now.
 *
 * Images are reduced to at most `maxSize` on the long edge with an area-average filter (resize.ts) and never
 * enlarged; a PNG still larger than `maxBytes` is reduced further, and the result says so.
 */
import { DicomParseError } from './errors.js';
import { encodeWithin, MAX_PNG_BYTES, MIN_PNG_BYTES } from './png.js';
import type { Raster } from './resize.js';
import { syntaxInfo } from './syntaxes.js';
import type { DecodedFrame, DicomAttributes } from './types.js';
import {
  firstNumber,
  instanceWindowOf,
  linearVoi,
  modalityLutOf,
  selectWindow,
  type AppliedWindow,
  type ModalityRange,
  type WindowRequest,
} from './window.js';

export { WINDOW_PRESETS, WINDOW_PRESET_NAMES, type AppliedWindow, type WindowPreset, type WindowRequest, type WindowSource } from './window.js';

/** Default long edge of a rendered frame, in pixels. */
export const DEFAULT_MAX_SIZE = 1024;

export interface RenderOptions {
  /** An explicit window (modality units), a preset name, or `auto`; default: the instance's window, else `auto`. */
  window?: WindowRequest;
  /** Longest edge of the PNG in pixels (default 1024); smaller frames keep their size. */
  maxSize?: number;
  /** Largest PNG in bytes (default 1,000,000): a larger one is rendered smaller until it fits. */
  maxBytes?: number;
}

export interface RenderedFrame {
  png: Uint8Array;
  width: number;
  height: number;
  /** 1 for greyscale, 3 for colour. */
  channels: 1 | 3;
  /** The frame's own size, before any reduction. */
  sourceWidth: number;
  sourceHeight: number;
  /** The window applied; null for colour shown as stored (no window requested). */
  window: AppliedWindow | null;
  /** Whether the image was made smaller than `maxSize` to keep the PNG within `maxBytes`. */
  shrunkToFit: boolean;
  /** What a reader of the image should know: a fallback taken, a further reduction. */
  notes: string[];
}

/**
 * Renders one decoded frame. `attributes` are the instance's DICOM attributes as the metadata document holds
 * them (keywords; DS/IS as padded strings or numbers); with HealthImaging metadata, merge the series level in
 * first, since PixelPaddingValue lives there. Read: PhotometricInterpretation, BitsStored, PixelRepresentation,
 * RescaleSlope, RescaleIntercept, WindowCenter, WindowWidth, PixelPaddingValue, PixelPaddingRangeLimit and
 * TransferSyntaxUID; the layout (samples per pixel, bits allocated) comes from `decoded`.
 *
 * Throws DicomParseError for frames that cannot be rendered (PALETTE COLOR, 2 or 4 samples per pixel, too few
 * bytes) and RangeError for invalid options.
 */
export function renderFrame(decoded: DecodedFrame, attributes: DicomAttributes, options: RenderOptions = {}): RenderedFrame {
  const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
  const maxBytes = options.maxBytes ?? MAX_PNG_BYTES;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`maxSize must be a positive integer, not ${maxSize}`);
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_PNG_BYTES) throw new RangeError(`maxBytes must be an integer of at least ${MIN_PNG_BYTES}, not ${maxBytes}`);
  const { raster, window, notes } = rasterizeFrame(decoded, attributes, options.window);
  const fitted = encodeWithin(raster, maxSize, maxBytes);
  if (fitted.shrunkToFit) {
    notes.push(`reduced to ${fitted.width}×${fitted.height}, below the ${maxSize}-pixel maximum, to keep the PNG under ${maxBytes} bytes`);
  }
  return {
    png: fitted.png,
    width: fitted.width,
    height: fitted.height,
    channels: raster.channels,
    sourceWidth: decoded.width,
    sourceHeight: decoded.height,
    window,
    shrunkToFit: fitted.shrunkToFit,
    notes,
  };
}

export interface FrameRaster {
  /** Full size, 8 bits per sample. */
  raster: Raster;
  window: AppliedWindow | null;
  notes: string[];
}

/** The display values of a frame at full size: `renderFrame` before reduction and PNG encoding. */
export function rasterizeFrame(decoded: DecodedFrame, attributes: DicomAttributes, request?: WindowRequest): FrameRaster {
  const { width, height, samplesPerPixel } = decoded;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new DicomParseError(`a ${width}×${height} frame cannot be rendered`);
  const photometric = photometricOf(attributes, samplesPerPixel);
  if (samplesPerPixel === 1) {
    if (photometric === 'PALETTE COLOR') throw new DicomParseError('PALETTE COLOR frames cannot be rendered yet: their colour lookup tables are not applied');
    return greyRaster(decoded, attributes, photometric === 'MONOCHROME1', request);
  }
  if (samplesPerPixel === 3) return colourRaster(decoded, attributes, photometric, request);
  throw new DicomParseError(`frames of ${samplesPerPixel} samples per pixel (${photometric}) cannot be rendered`);
}

function photometricOf(attributes: DicomAttributes, samplesPerPixel: number): string {
  const value = Array.isArray(attributes.PhotometricInterpretation) ? attributes.PhotometricInterpretation[0] : attributes.PhotometricInterpretation;
  const text = typeof value === 'string' ? value.trim().toUpperCase() : '';
  return text || (samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB');
}

// ---------------------------------------------------------------------------------------------------------------
// Samples

/** Raw sample words, unsigned and unmasked: what the Modality LUT's input is read from. */
type Words = Uint8Array | Uint16Array | Uint32Array;

/** The frame's samples as unsigned words (1-bit frames unpacked to 0/1), after checking there are enough bytes. */
function wordsOf(decoded: DecodedFrame): Words {
  const count = decoded.width * decoded.height * decoded.samplesPerPixel;
  const { pixels, bitsAllocated } = decoded;
  if (bitsAllocated === 1) {
    if (pixels.length * 8 < count) throw new DicomParseError(`the 1-bit frame holds ${pixels.length} bytes; ${decoded.width}×${decoded.height} pixels need ${Math.ceil(count / 8)}`);
    const bits = new Uint8Array(count);
    for (let i = 0; i < count; i++) bits[i] = (pixels[i >>> 3]! >>> (i & 7)) & 1;
    return bits;
  }
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) throw new DicomParseError(`frames of ${bitsAllocated} bits allocated cannot be rendered`);
  const bytes = bitsAllocated / 8;
  if (pixels.length < count * bytes) throw new DicomParseError(`the frame holds ${pixels.length} bytes; ${decoded.width}×${decoded.height}×${decoded.samplesPerPixel} samples of ${bitsAllocated} bits need ${count * bytes}`);
  if (bytes === 1) return pixels.subarray(0, count);
  const aligned = pixels.byteOffset % bytes === 0 ? pixels : pixels.slice(0, count * bytes);
  return bytes === 2 ? new Uint16Array(aligned.buffer, aligned.byteOffset, count) : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
}

/** BitsStored, within 1 … BitsAllocated (absent or out of range: BitsAllocated). */
function bitsStoredOf(attributes: DicomAttributes, bitsAllocated: number): number {
  const bits = firstNumber(attributes.BitsStored);
  return bits !== undefined && Number.isInteger(bits) && bits >= 1 && bits <= bitsAllocated ? bits : bitsAllocated;
}

/**
 * Raw word → stored value: the low `bits` bits (PS3.5 §8.1.1; bits above may hold overlays or garbage),
 * two's complement when signed. Also takes a negative number (a signed attribute value) to the same value.
 */
function storedValueFn(bits: number, signed: boolean): (raw: number) => number {
  const shift = 32 - bits;
  return signed ? (raw) => (raw << shift) >> shift : (raw) => (raw << shift) >>> shift;
}

// ---------------------------------------------------------------------------------------------------------------
// Greyscale

function greyRaster(decoded: DecodedFrame, attributes: DicomAttributes, invert: boolean, request: WindowRequest | undefined): FrameRaster {
  const words = wordsOf(decoded);
  const oneBit = decoded.bitsAllocated === 1;
  const bits = oneBit ? 1 : bitsStoredOf(attributes, decoded.bitsAllocated);
  const representation = firstNumber(attributes.PixelRepresentation);
  const signed = !oneBit && (representation === undefined ? decoded.signed : representation === 1);
  const stored = storedValueFn(bits, signed);
  const { slope, intercept } = modalityLutOf(attributes);
  const isPadding = paddingTest(attributes, stored);

  const notes: string[] = [];
  const instance = instanceWindowOf(attributes);
  if (request === undefined && !instance && (attributes.WindowCenter != null || attributes.WindowWidth != null)) {
    notes.push(`the instance's window (WindowCenter ${JSON.stringify(attributes.WindowCenter)}, WindowWidth ${JSON.stringify(attributes.WindowWidth)}) is not a usable window; the window spans the frame's values instead`);
  }
  const window = selectWindow(request, instance, () => modalityRange(words, stored, slope, intercept, isPadding));

  const voi = linearVoi(window);
  const display = (raw: number): number => {
    const value = voi(stored(raw) * slope + intercept);
    return Math.round(invert ? 255 - value : value);
  };
  const data = new Uint8Array(words.length);
  if (words instanceof Uint32Array) {
    for (let i = 0; i < words.length; i++) data[i] = display(words[i]!);
  } else {
    // One table entry per possible word (256 or 65,536): the per-pixel work is a single lookup.
    const lut = new Uint8Array(words instanceof Uint8Array ? 0x100 : 0x10000);
    for (let raw = 0; raw < lut.length; raw++) lut[raw] = display(raw);
    for (let i = 0; i < words.length; i++) data[i] = lut[words[i]!]!;
  }
  return { raster: { width: decoded.width, height: decoded.height, channels: 1, data }, window, notes };
}

/**
 * Stored values that are padding (PS3.3 C.7.5.1.1.2: PixelPaddingValue, up to PixelPaddingRangeLimit when
 * given): the area outside a CT's field of view, which must not stretch an automatic window.
 */
function paddingTest(attributes: DicomAttributes, stored: (raw: number) => number): ((value: number) => boolean) | undefined {
  const value = firstNumber(attributes.PixelPaddingValue);
  if (value === undefined || !Number.isInteger(value)) return undefined;
  const padding = stored(value);
  const limit = firstNumber(attributes.PixelPaddingRangeLimit);
  const other = limit !== undefined && Number.isInteger(limit) ? stored(limit) : padding;
  const low = Math.min(padding, other);
  const high = Math.max(padding, other);
  return (v) => v >= low && v <= high;
}

/** Smallest and largest modality value of the frame's non-padding pixels; undefined when all are padding. */
function modalityRange(words: Words, stored: (raw: number) => number, slope: number, intercept: number, isPadding?: (value: number) => boolean): ModalityRange | undefined {
  let min = Infinity;
  let max = -Infinity;
  const visit = (raw: number) => {
    const value = stored(raw);
    if (isPadding?.(value)) return;
    const m = value * slope + intercept;
    if (m < min) min = m;
    if (m > max) max = m;
  };
  if (words instanceof Uint32Array) {
    for (let i = 0; i < words.length; i++) visit(words[i]!);
  } else {
    // Which words occur, then each distinct word once.
    const seen = new Uint8Array(words instanceof Uint8Array ? 0x100 : 0x10000);
    for (let i = 0; i < words.length; i++) seen[words[i]!] = 1;
    for (let raw = 0; raw < seen.length; raw++) if (seen[raw]) visit(raw);
  }
  return min <= max ? { min, max } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Colour

function colourRaster(decoded: DecodedFrame, attributes: DicomAttributes, photometric: string, request: WindowRequest | undefined): FrameRaster {
  if (decoded.bitsAllocated === 1) throw new DicomParseError('1-bit colour frames cannot be rendered');
  const notes: string[] = [];
  const bits = bitsStoredOf(attributes, decoded.bitsAllocated);
  const maxValue = 2 ** bits - 1;
  let samples: Words = maskedWords(wordsOf(decoded), bits);
  if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') {
    const decoder = decodedColour(attributes);
    if (decoder === 'unknown') notes.push(`${photometric} samples were taken as RGB, as a JPEG decoder returns them: TransferSyntaxUID is absent, so it is not known whether they are still YCbCr`);
    if (decoder === 'ycbcr') samples = ycbcrToRgb(samples, maxValue);
  }

  const data = new Uint8Array(samples.length);
  let window: AppliedWindow | null = null;
  let display: (value: number) => number;
  if (request === undefined) {
    if (bits === 8 && samples instanceof Uint8Array) return { raster: raster3(decoded, samples), window, notes };
    display = (value) => Math.round((value * 255) / maxValue);
  } else {
    window = selectWindow(request, undefined, () => sampleRange(samples));
    const voi = linearVoi(window);
    display = (value) => Math.round(voi(value));
  }
  if (samples instanceof Uint32Array) {
    for (let i = 0; i < samples.length; i++) data[i] = display(samples[i]!);
  } else {
    const lut = new Uint8Array(samples instanceof Uint8Array ? 0x100 : 0x10000);
    for (let value = 0; value < lut.length; value++) lut[value] = display(value);
    for (let i = 0; i < samples.length; i++) data[i] = lut[samples[i]!]!;
  }
  return { raster: raster3(decoded, data), window, notes };
}

function raster3(decoded: DecodedFrame, data: Uint8Array): Raster {
  return { width: decoded.width, height: decoded.height, channels: 3, data };
}

/** Colour samples are unsigned; only their low `bits` bits are the value. */
function maskedWords(words: Words, bits: number): Words {
  const bitsAllocated = words.BYTES_PER_ELEMENT * 8;
  if (bits >= bitsAllocated) return words;
  const masked = words.slice();
  const mask = 2 ** bits - 1;
  for (let i = 0; i < masked.length; i++) masked[i]! &= mask;
  return masked;
}

/**
 * Whether YBR_FULL/YBR_FULL_422 samples were left YCbCr by the decoder: every decoder does, except libjpeg's for
 * JPEG (see the module comment).
 */
function decodedColour(attributes: DicomAttributes): 'rgb' | 'ycbcr' | 'unknown' {
  const uid = typeof attributes.TransferSyntaxUID === 'string' ? attributes.TransferSyntaxUID.replace(/\0/g, '').trim() : '';
  if (!uid) return 'unknown';
  return syntaxInfo(uid)?.encoding === 'jpeg' ? 'rgb' : 'ycbcr';
}

/** Full-range YCbCr (PS3.3 C.7.6.3.1.2, the JFIF equations) to RGB, clamped to 0 … maxValue. */
function ycbcrToRgb(samples: Words, maxValue: number): Words {
  const rgb = samples.slice();
  const half = (maxValue + 1) / 2;
  const clamp = (v: number) => (v <= 0 ? 0 : v >= maxValue ? maxValue : Math.round(v));
  for (let i = 0; i < samples.length; i += 3) {
    const y = samples[i]!;
    const cb = samples[i + 1]! - half;
    const cr = samples[i + 2]! - half;
    rgb[i] = clamp(y + 1.402 * cr);
    rgb[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    rgb[i + 2] = clamp(y + 1.772 * cb);
  }
  return rgb;
}

function sampleRange(samples: Words): ModalityRange | undefined {
  if (samples.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

// ---------------------------------------------------------------------------------------------------------------
// Enhanced multi-frame objects

/** Functional group sequences whose first item holds attributes that rendering reads. */
const RENDERING_GROUPS = ['PixelValueTransformationSequence', 'FrameVOILUTSequence'];

/**
 * The attributes that apply to one frame (0-based) of an enhanced multi-frame instance (enhanced CT/MR/XA, …):
 * those of the instance, overridden by the Pixel Value Transformation (rescale) and Frame VOI LUT (window)
 * functional groups, shared first, then the frame's own (PS3.3 C.7.6.16). Other instances come back unchanged.
 */
export function frameAttributes(attributes: DicomAttributes, frameIndex: number): DicomAttributes {
  const shared = firstItem(attributes.SharedFunctionalGroupsSequence);
  const perFrame = Array.isArray(attributes.PerFrameFunctionalGroupsSequence) ? itemOf(attributes.PerFrameFunctionalGroupsSequence[frameIndex]) : undefined;
  if (!shared && !perFrame) return attributes;
  const merged: DicomAttributes = { ...attributes };
  for (const groups of [shared, perFrame]) {
    for (const sequence of RENDERING_GROUPS) Object.assign(merged, firstItem(groups?.[sequence]));
  }
  return merged;
}

function firstItem(sequence: unknown): DicomAttributes | undefined {
  return Array.isArray(sequence) ? itemOf(sequence[0]) : undefined;
}

function itemOf(value: unknown): DicomAttributes | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as DicomAttributes) : undefined;
}
