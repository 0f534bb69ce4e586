/** DICOM data dictionary look-ups (PS3.6 via dcmjs), for validating metadata updates and naming attributes. */
import { DicomMetaDictionary, type DictionaryEntry as RawEntry } from './dcmjs-data.js';

export interface DictionaryEntry {
  /** `(gggg,eeee)` */
  tag: string;
  vr: string;
  /** Value multiplicity as the dictionary states it: `1`, `1-n`, `2-n`, `3`, … */
  vm: string;
  keyword: string;
}

const { nameMap, dictionary } = DicomMetaDictionary;

const toEntry = (raw: RawEntry | undefined): DictionaryEntry | undefined =>
  raw && raw.name ? { tag: raw.tag, vr: raw.vr, vm: raw.vm, keyword: raw.name } : undefined;

/** 8 hex digits, the form HealthImaging uses for private and unknown attributes. */
export const HEX_TAG = /^[0-9A-Fa-f]{8}$/;

export function isPrivateTag(key: string): boolean {
  return HEX_TAG.test(key) && Number.parseInt(key.slice(3, 4), 16) % 2 === 1;
}

/** The dictionary entry of a keyword (`PatientName`) or an 8-hex tag (`00100010`). */
export function lookupAttribute(key: string): DictionaryEntry | undefined {
  if (HEX_TAG.test(key)) return toEntry(dictionary[`(${key.slice(0, 4)},${key.slice(4)})`.toUpperCase()]);
  return Object.hasOwn(nameMap, key) ? toEntry(nameMap[key]) : undefined;
}

/** Whether the dictionary allows more than one value (such attributes are JSON arrays in the document). */
export function isMultiValued(entry: DictionaryEntry): boolean {
  return entry.vm !== '1';
}

const NUMERIC_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** Whether a JSON value fits the VR as the metadata document encodes it (spec §2.3). */
export function valueFitsVr(value: unknown, vr: string): boolean {
  if (value === null) return true;
  if (Array.isArray(value)) return value.every((item) => valueFitsVr(item, vr));
  if (vr === 'SQ') return typeof value === 'object';
  if (NUMERIC_VRS.has(vr)) return typeof value === 'number' && Number.isFinite(value);
  if (BINARY_VRS.has(vr)) return typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
  return typeof value === 'string';
}
