/**
 * Metadata-document attributes (keyword-keyed, encoded as attributes.ts describes) → the DICOM JSON Model of
 * PS3.18 Annex F, which DICOMweb metadata and search responses carry:
 * - keys are 8-hex uppercase tags, in ascending order; every attribute has its `vr`;
 * - PN values are `{ Alphabetic, Ideographic, Phonetic }` objects; DS, IS and binary numbers are JSON numbers;
 * - binary values are `InlineBinary` (base64), or a `BulkDataURI` when longer than a threshold (HealthImaging:
 *   1 MB), addressed by a hash of the attribute's path in the instance;
 * - an empty attribute has a `vr` and no `Value`; text loses its trailing padding.
 *
 * The document records VRs only for 8-hex keys; keyword keys take the dictionary's VR, and where the dictionary
 * allows two (US or SS, OB or OW) the value decides.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { HEX_TAG, lookupAttribute } from './dictionary.js';
import type { DicomAttributes } from './types.js';

export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

/** HealthImaging replaces binary values larger than 1 MB with a BulkDataURI (spec §4.3). */
export const BULK_DATA_THRESHOLD = 1024 * 1024;

export interface DicomJsonOptions {
  /** Binary values of more bytes than this become BulkDataURIs (default BULK_DATA_THRESHOLD). */
  bulkDataThreshold?: number;
  /** The BulkDataURI for the binary attribute whose path hashes to `hash` (see `bulkDataHash`). */
  bulkDataUri?: (hash: string) => string;
}

export const BINARY_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const NUMBER_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV']);
const NUMBER_STRING_VRS = new Set(['DS', 'IS']);

/** The 8-hex uppercase tag of a keyword or 8-hex key; undefined for names the dictionary does not know. */
export function tagOf(key: string): string | undefined {
  if (HEX_TAG.test(key)) return key.toUpperCase();
  const entry = lookupAttribute(key);
  return entry ? entry.tag.replace(/[(),]/g, '').toUpperCase() : undefined;
}

const isNegative = (value: unknown): boolean => (Array.isArray(value) ? value.some(isNegative) : typeof value === 'number' && value < 0);

/** The VR of an attribute as the document holds it: recorded for 8-hex keys, from the dictionary for keywords. */
export function vrOf(key: string, value: unknown, vrs: Readonly<Record<string, string>>): string {
  if (HEX_TAG.test(key)) return vrs[key] ?? vrs[key.toUpperCase()] ?? 'UN';
  const vr = lookupAttribute(key)?.vr ?? 'UN';
  switch (vr) {
    case 'xs': // US or SS
      return isNegative(value) ? 'SS' : 'US';
    case 'ox': // OB or OW
      return 'OW';
    case 'lt': // US, SS or OW (LUT data): the document keeps binary as base64 and numbers as numbers
      return typeof value === 'string' || (Array.isArray(value) && typeof value[0] === 'string') ? 'OW' : 'US';
    case 'up':
      return 'UL';
    default:
      return vr;
  }
}

/** The name of a binary attribute in bulkdata URIs: 32 hex digits of the SHA-256 of its path in the instance. */
export function bulkDataHash(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 32);
}

/** Binary VRs, and numeric attributes that a file carried as bytes (base64 in the document). */
const holdsBinary = (vr: string, values: unknown[]): boolean => BINARY_VRS.has(vr) || (NUMBER_VRS.has(vr) && typeof values[0] === 'string');

const asList = (value: unknown): unknown[] => (value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Bytes a base64 string decodes to, without decoding it. */
function base64Length(b64: string): number {
  const padding = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - padding;
}

/** Converts attributes (one level, or all levels merged) to a DICOM JSON dataset. */
export function toDicomJson(attributes: DicomAttributes, vrs: Readonly<Record<string, string>>, options: DicomJsonOptions = {}, path = ''): DicomJsonDataset {
  const entries: Array<[string, DicomJsonAttribute]> = [];
  for (const [key, value] of Object.entries(attributes)) {
    const tag = tagOf(key);
    if (!tag) continue;
    const vr = vrOf(key, value, vrs);
    entries.push([tag, attributeOf(vr, value, vrs, options, path === '' ? tag : `${path}/${tag}`)]);
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

function attributeOf(vr: string, value: unknown, vrs: Readonly<Record<string, string>>, options: DicomJsonOptions, path: string): DicomJsonAttribute {
  const values = asList(value);
  if (values.length === 0) return { vr };
  if (vr === 'SQ') {
    return { vr, Value: values.map((item, i) => toDicomJson((item ?? {}) as DicomAttributes, vrs, options, `${path}/${i}`)) };
  }
  if (holdsBinary(vr, values)) {
    const b64 = values.find((v): v is string => typeof v === 'string') ?? '';
    const threshold = options.bulkDataThreshold ?? BULK_DATA_THRESHOLD;
    if (options.bulkDataUri && base64Length(b64) > threshold) return { vr, BulkDataURI: options.bulkDataUri(bulkDataHash(path)) };
    return { vr, InlineBinary: b64 };
  }
  if (NUMBER_VRS.has(vr)) return { vr, Value: values.map((v) => (typeof v === 'number' ? v : v === null ? null : Number(v))) };
  if (vr === 'AT') return { vr, Value: values.map((v) => (v === null ? null : String(v).toUpperCase())) };
  const text = values.map((v) => (v === null ? null : trimPadding(String(v))));
  if (NUMBER_STRING_VRS.has(vr)) return { vr, Value: text.map(numberOrText) };
  if (vr === 'PN') return { vr, Value: text.map(personName) };
  return { vr, Value: text.map((t) => (t === '' ? null : t)) };
}

/** Trailing spaces (and NULs) are padding in DICOM; leading spaces are significant in text VRs and stay. */
const trimPadding = (s: string): string => s.replace(/[ \0]+$/, '');

function numberOrText(text: string | null): number | string | null {
  if (text === null || text.trim() === '') return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : text.trim();
}

/** `FAMILY^GIVEN=ideographic=phonetic` → `{ Alphabetic, Ideographic, Phonetic }`, empty groups left out. */
export function personName(text: string | null): Record<string, string> | null {
  if (text === null || text === '') return null;
  const [alphabetic, ideographic, phonetic] = text.split('=');
  return {
    ...(alphabetic && { Alphabetic: alphabetic }),
    ...(ideographic && { Ideographic: ideographic }),
    ...(phonetic && { Phonetic: phonetic }),
  };
}

export interface BinaryAttribute {
  /** Tag path in the instance (`00282000`, `00540016/0/00181072`), what `bulkDataHash` hashes. */
  path: string;
  vr: string;
  bytes: Uint8Array;
}

/** Finds the binary attribute whose path hashes to `hash` (a bulkdata URI's last segment). */
export function findBulkData(attributes: DicomAttributes, vrs: Readonly<Record<string, string>>, hash: string): BinaryAttribute | undefined {
  for (const found of binaryAttributes(attributes, vrs, '')) {
    if (bulkDataHash(found.path) === hash) return { ...found, bytes: Buffer.from(found.base64, 'base64') };
  }
  return undefined;
}

function* binaryAttributes(attributes: DicomAttributes, vrs: Readonly<Record<string, string>>, path: string): Generator<{ path: string; vr: string; base64: string }> {
  for (const [key, value] of Object.entries(attributes)) {
    const tag = tagOf(key);
    if (!tag) continue;
    const here = path === '' ? tag : `${path}/${tag}`;
    const vr = vrOf(key, value, vrs);
    const values = asList(value);
    if (vr === 'SQ') {
      for (let i = 0; i < values.length; i++) yield* binaryAttributes((values[i] ?? {}) as DicomAttributes, vrs, `${here}/${i}`);
    } else if (holdsBinary(vr, values) && typeof values[0] === 'string') {
      yield { path: here, vr, base64: values[0] };
    }
  }
}
