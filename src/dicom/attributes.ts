/**
 * dcmjs datasets → attribute objects of the metadata document, encoded as HealthImaging does
 * (shared/healthimaging-api.md §2.3):
 * - keys are PS3.6 keywords; private, unknown and repeating-group (50xx/60xx) attributes use their 8-hex tag and
 *   get their VR recorded in DICOMVRs;
 * - text VRs are strings, PN a plain `FAMILY^GIVEN` string, DS/IS stay text;
 * - binary numbers (US SS UL SL FL FD UV) are JSON numbers, AT an 8-hex string;
 * - OB OD OF OL OV OW UN are base64 (little-endian bytes);
 * - an attribute whose dictionary VM allows more than one value is an array even with one value; others are
 *   scalars (unless the file holds several values anyway: nothing is dropped);
 * - a present but empty attribute is null (also an empty sequence);
 * - SQ items are objects keyed the same way.
 *
 * Padding: text values are kept as the file has them, trailing space included (`"SeriesNumber": "1 "`,
 * `"KVP": "120 "`), which is what HealthImaging returns; consumers compare them trimmed. dcmjs drops the pad
 * byte of PN values (and of an odd-length last value of a multi-valued attribute), which matches HealthImaging's
 * documents too (`"PatientName": "NAME^NONE"`). Only NUL padding is removed (UIDs are NUL-padded; NUL is not
 * text).
 */
import { Buffer } from 'node:buffer';
import { DicomMetaDictionary, type DicomDataset, type DicomElement } from './dcmjs-data.js';
import { DicomParseError } from './errors.js';
import type { DicomAttributes } from './types.js';

/** Attribute keys → VR, for the keys that are 8-hex tags. */
export type VrMap = Record<string, string>;

const NUMERIC_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV']);
/** Bytes per word of the binary VRs, for byte-swapping values read from big-endian files. */
const BINARY_WORD_SIZE: Readonly<Record<string, number>> = { OB: 1, UN: 1, OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

/** Elements that describe the file's encoding rather than the instance, so they never reach the document. */
const ENCODING_ONLY_TAGS = new Set([
  '7FE00001', // ExtendedOffsetTable: offsets into the received encapsulation
  '7FE00002', // ExtendedOffsetTableLengths
  'FFFCFFFC', // DataSetTrailingPadding
]);

export interface EncodeOptions {
  /** 8-hex tags to leave out at the top level (the pixel data elements). */
  skip?: ReadonlySet<string>;
  /** Whether binary values were read from an Explicit VR Big Endian dataset (they are swapped to little endian). */
  bigEndian?: boolean;
  /**
   * Longest plausible binary value (the file's length). dcmjs misreads some malformed sequences into values of
   * hundreds of megabytes of zeros; such a value means the file is malformed, not that it holds that much.
   */
  maxValueLength?: number;
}

/**
 * Encodes a dcmjs dataset. VRs of the 8-hex keys (also of those inside sequences) are added to `vrs`.
 */
export function encodeDataset(dataset: DicomDataset, vrs: VrMap, options: EncodeOptions = {}): DicomAttributes {
  const attributes: DicomAttributes = {};
  for (const tag of Object.keys(dataset).sort()) {
    const element = dataset[tag]!;
    if (options.skip?.has(tag) || isDroppedTag(tag)) continue;
    const key = keyOf(tag);
    if (key.isHex && !(key.name in vrs)) vrs[key.name] = element.vr;
    attributes[key.name] = encodeElement(element, key, vrs, options);
  }
  return attributes;
}

/** Group lengths (gggg,0000) other than the file meta's are retired and describe the old encoding. */
function isDroppedTag(tag: string): boolean {
  return ENCODING_ONLY_TAGS.has(tag) || (tag.endsWith('0000') && !tag.startsWith('0002'));
}

interface AttributeKey {
  name: string;
  isHex: boolean;
  /** From the dictionary's VM; false for attributes the dictionary does not know. */
  multiValued: boolean;
}

/** Dictionary look-ups by tag; bounded by the distinct tags ever seen, which real data keeps in the thousands. */
const keyCache = new Map<string, AttributeKey>();

function keyOf(tag: string): AttributeKey {
  let key = keyCache.get(tag);
  if (!key) {
    key = lookupKey(tag);
    keyCache.set(tag, key);
  }
  return key;
}

function lookupKey(tag: string): AttributeKey {
  const group = Number.parseInt(tag.slice(0, 4), 16);
  const entry = group % 2 === 1 || isRepeatingGroupCopy(group) ? undefined : DicomMetaDictionary.dictionary[tag];
  if (!entry?.name) return { name: tag, isHex: true, multiValued: false };
  return { name: entry.name, isHex: false, multiValued: entry.vm !== '1' };
}

/**
 * Curves (50xx) and overlays (60xx) repeat in 16 even groups that share one keyword; only the first group may
 * use it, or two overlays would collide on one key.
 */
function isRepeatingGroupCopy(group: number): boolean {
  return (group & 0xff00) === 0x5000 || (group & 0xff00) === 0x6000 ? (group & 0xff) !== 0 : false;
}

function encodeElement(element: DicomElement, key: AttributeKey, vrs: VrMap, options: EncodeOptions): unknown {
  const values = valuesOf(element, key, vrs, options);
  if (values.length === 0) return null;
  if (element.vr === 'SQ') return values;
  return key.multiValued || values.length > 1 ? values : values[0];
}

/** The element's values as the document encodes them; an empty array for an empty element. */
function valuesOf(element: DicomElement, key: AttributeKey, vrs: VrMap, options: EncodeOptions): unknown[] {
  const { vr } = element;
  const values = element.Value ?? [];
  if (vr === 'SQ') return values.map((item) => encodeDataset(item as DicomDataset, vrs, { bigEndian: options.bigEndian, maxValueLength: options.maxValueLength }));
  if (NUMERIC_VRS.has(vr)) return values.map(jsonNumber);
  if (vr === 'AT') return values.map(tagString);
  if (vr in BINARY_WORD_SIZE) {
    const bytes = binaryBytes(values);
    if (bytes.length > (options.maxValueLength ?? Infinity)) throw new DicomParseError(`malformed DICOM file: ${key.name} reads as ${bytes.length} bytes, more than the file holds`);
    return bytes.length ? [base64(bytes, BINARY_WORD_SIZE[vr]!, options.bigEndian === true)] : [];
  }
  return textValues(element);
}

/** 64-bit integers (UV) come as bigint, which JSON cannot hold; values beyond 2^53 are rare enough to round. */
const jsonNumber = (value: unknown): number => Number(value);

const tagString = (value: unknown): string => (typeof value === 'number' ? value.toString(16).toUpperCase().padStart(8, '0') : String(value));

/** The bytes of a binary value (dcmjs gives one ArrayBuffer, or one per fragment for encapsulated data). */
function binaryBytes(values: unknown[]): Uint8Array {
  const chunks = values.filter((v): v is ArrayBuffer | ArrayBufferView => v instanceof ArrayBuffer || ArrayBuffer.isView(v)).map(bytesOf);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function bytesOf(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  return value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Base64 of the little-endian bytes: words of a big-endian file are swapped first (on a copy). */
function base64(bytes: Uint8Array, wordSize: number, bigEndian: boolean): string {
  if (!bigEndian || wordSize === 1) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const copy = Buffer.from(bytes);
  if (wordSize === 2) copy.swap16();
  else if (wordSize === 4) copy.swap32();
  else copy.swap64();
  return copy.toString('base64');
}

/**
 * Text values from dcmjs's `_rawValue` (the string as read), which keeps DS/IS as text and PN as a plain string,
 * where `Value` would hold numbers and `{ Alphabetic }` objects.
 */
function textValues(element: DicomElement): Array<string | null> {
  const raw = element._rawValue ?? element.Value ?? [];
  const strings = (Array.isArray(raw) ? raw : String(raw).split('\\')).map(textOf);
  if (strings.every((s) => s === '')) return [];
  return strings.map((s) => (s === '' ? null : s));
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\0+$/, '');
  // dcmjs PN values that did not come with a raw string (never seen when reading files, but possible).
  if (value && typeof value === 'object' && 'Alphabetic' in value) return String(value.Alphabetic ?? '');
  return value === null || value === undefined ? '' : String(value);
}
