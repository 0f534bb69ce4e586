/**
 * Greyscale display values (PS3.3 C.11): the Modality LUT (RescaleSlope/RescaleIntercept) turns stored values
 * into modality units (Hounsfield units for CT), the linear VOI function (C.11.2.1.2) turns a window of those
 * into 0 … 255. Also which window to use: the one requested, a named preset, the instance's own, or one that
 * spans the frame's values.
 */
import type { DicomAttributes } from './types.js';

export interface Window {
  center: number;
  /** At least 1 (PS3.3 C.11.2.1.2: Window Width ≥ 1 for the LINEAR function). */
  width: number;
}

/**
 * CT windows in Hounsfield units, the usual reading-room values (Radiopaedia, "Windowing (CT)"; the same
 * numbers as the presets of OHIF and 3D Slicer): lung W1500 L−600, bone W1800 L400 (wide enough for cortex and
 * marrow; W1500 L300 is the other common choice), soft tissue W400 L40, brain W80 L40.
 */
export const WINDOW_PRESETS = {
  lung: { center: -600, width: 1500 },
  bone: { center: 400, width: 1800 },
  soft_tissue: { center: 40, width: 400 },
  brain: { center: 40, width: 80 },
} as const satisfies Record<string, Window>;

export type WindowPreset = keyof typeof WINDOW_PRESETS;

export const WINDOW_PRESET_NAMES = Object.keys(WINDOW_PRESETS) as WindowPreset[];

/** What a caller may ask for: an explicit window, a preset, or `auto` (the frame's own range). */
export type WindowRequest = Window | WindowPreset | 'auto';

export type WindowSource = 'request' | `preset:${WindowPreset}` | 'instance' | 'auto';

export interface AppliedWindow extends Window {
  source: WindowSource;
}

/** Smallest and largest value in modality units. */
export interface ModalityRange {
  min: number;
  max: number;
}

export interface ModalityLut {
  slope: number;
  intercept: number;
}

export function isWindowPreset(name: string): name is WindowPreset {
  return Object.hasOwn(WINDOW_PRESETS, name);
}

/**
 * The window to apply, in this order: the request (an explicit window, a preset, or `auto`), else the instance's
 * first WindowCenter/WindowWidth pair, else `auto`. `range` is called only for `auto`; it returns undefined when
 * the frame has no values to span (every pixel is padding), and the window then spans 0 … 1.
 * Throws RangeError for a requested window that is not a valid one.
 */
export function selectWindow(request: WindowRequest | undefined, instance: Window | undefined, range: () => ModalityRange | undefined): AppliedWindow {
  if (typeof request === 'object') {
    if (!isValidWindow(request)) throw new RangeError(`window ${JSON.stringify(request)} is not valid: center must be a finite number and width a finite number of at least 1`);
    return { center: request.center, width: request.width, source: 'request' };
  }
  if (request !== undefined && request !== 'auto') {
    if (!isWindowPreset(request)) throw new RangeError(`unknown window preset "${String(request)}"; the presets are ${WINDOW_PRESET_NAMES.join(', ')}`);
    return { ...WINDOW_PRESETS[request], source: `preset:${request}` };
  }
  if (request === undefined && instance) return { ...instance, source: 'instance' };
  return { ...spanningWindow(range() ?? { min: 0, max: 1 }), source: 'auto' };
}

/**
 * The window whose linear VOI function maps `min` to 0 and `max` to 255 exactly: centre (min + max + 1) / 2,
 * width max − min + 1 (what dcmtk's min-max window computes, after PS3.3 C.11.2.1.2).
 */
export function spanningWindow({ min, max }: ModalityRange): Window {
  return { center: (min + max + 1) / 2, width: max - min + 1 };
}

export function isValidWindow(window: Window): boolean {
  return Number.isFinite(window.center) && Number.isFinite(window.width) && window.width >= 1;
}

/**
 * The linear VOI function of PS3.3 C.11.2.1.2 onto 0 … 255, unrounded:
 * x ≤ c − 0.5 − (w − 1)/2 → 0; x > c − 0.5 + (w − 1)/2 → 255; else ((x − (c − 0.5)) / (w − 1) + 0.5) × 255.
 * Returned as a function so that callers building a lookup table evaluate the constants once.
 */
export function linearVoi({ center, width }: Window): (x: number) => number {
  const lower = center - 0.5 - (width - 1) / 2;
  const upper = center - 0.5 + (width - 1) / 2;
  // With width 1 the ramp is empty (lower = upper), so the division below is never reached.
  const scale = 255 / (width - 1);
  const offset = center - 0.5;
  return (x) => (x <= lower ? 0 : x > upper ? 255 : (x - offset) * scale + 127.5);
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes, as the metadata document encodes them: DS/IS values are strings that may carry padding
// ("-1024 "), multi-valued attributes are arrays, binary numbers are JSON numbers.

/** The first value of a numeric attribute (number, DS/IS string, array of either, or `a\b` text). */
export function firstNumber(value: unknown): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number') return Number.isFinite(first) ? first : undefined;
  if (typeof first !== 'string') return undefined;
  const text = first.split('\\')[0]!.trim();
  if (text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** RescaleSlope and RescaleIntercept; identity when absent. A slope of 0 would erase the image, so it counts as absent. */
export function modalityLutOf(attributes: DicomAttributes): ModalityLut {
  const slope = firstNumber(attributes.RescaleSlope);
  return { slope: slope === undefined || slope === 0 ? 1 : slope, intercept: firstNumber(attributes.RescaleIntercept) ?? 0 };
}

/** The instance's first WindowCenter/WindowWidth pair, when both are present and form a valid window. */
export function instanceWindowOf(attributes: DicomAttributes): Window | undefined {
  const center = firstNumber(attributes.WindowCenter);
  const width = firstNumber(attributes.WindowWidth);
  if (center === undefined || width === undefined) return undefined;
  const window = { center, width };
  return isValidWindow(window) ? window : undefined;
}
