/**
 * DICOM Part 10 parsing into the shape of HealthImaging's metadata document (spec §2): attributes keyed by
 * keyword (or 8-hex tag for private/unknown ones, with their VR in DICOMVRs), split by level, values encoded as
 * §2.3 says. Text values keep their original padding, as HealthImaging's documents do (`"SeriesNumber": "1 "`);
 * only the NUL padding of UIDs is dropped.
 */
import { createRequire } from 'node:module';
import { lookupAttribute } from './dictionary.js';
import { levelOf } from './levels.js';
import type { DicomAttributes, FrameGeometry, ParsedInstance } from './types.js';

export class DicomParseError extends Error {
  override readonly name = 'DicomParseError';
}

interface RawElement {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
}
type RawDataset = Record<string, RawElement>;

interface Dcmjs {
  data: { DicomMessage: { readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { meta: RawDataset; dict: RawDataset } } };
  log: { setLevel(level: string): void };
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;
// dcmjs logs through console.log (stdout), which belongs to MCP on stdio; keep only errors (console.error).
dcmjs.log.setLevel('error');

const PIXEL_TAGS = new Set(['7FE00010', '7FE00008', '7FE00009']);
const NUMERIC_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const ENCAPSULATED_NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2']);

const toBase64 = (value: unknown): string => {
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('base64');
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return '';
};

function stripNul(value: string): string {
  return value.replace(/\0+$/, '');
}

/** The element's values as the metadata document encodes them (before VM folding). */
function elementValues(element: RawElement): unknown[] {
  const { vr } = element;
  const values = element.Value ?? [];
  if (vr === 'SQ') return values.map((item) => convertDataset(item as RawDataset, false).attributes);
  if (BINARY_VRS.has(vr)) return values.length ? [values.map(toBase64).join('')] : [];
  if (NUMERIC_VRS.has(vr)) return values.map(Number);
  if (vr === 'AT') return values.map(String);
  const raw = element._rawValue;
  if (vr === 'PN') {
    const text = typeof raw === 'string' ? raw : values.map((v) => (typeof v === 'object' && v ? Object.values(v as Record<string, string>).join('=') : String(v))).join('\\');
    return text === '' ? [] : text.split('\\').map(stripNul);
  }
  const strings = (Array.isArray(raw) ? raw.map(String) : values.map(String)).map((s) => (vr === 'UI' ? stripNul(s).trim() : stripNul(s)));
  // A present but empty attribute (type 2) is null in the document.
  return strings.length === 1 && strings[0]!.trim() === '' ? [] : strings;
}

/** Converts a dcmjs dataset (tag-keyed) into document attributes (keyword-keyed) plus VRs of private/unknown tags. */
function convertDataset(dataset: RawDataset, topLevel: boolean): { attributes: DicomAttributes; vrs: Record<string, string> } {
  const attributes: DicomAttributes = {};
  const vrs: Record<string, string> = {};
  for (const [tag, element] of Object.entries(dataset)) {
    if (topLevel && PIXEL_TAGS.has(tag)) continue;
    // Group lengths (gggg0000) outside the file meta group are retired and carry no information.
    if (tag.endsWith('0000') && !tag.startsWith('0002')) continue;
    const entry = lookupAttribute(tag);
    const key = entry && !isPrivate(tag) ? entry.keyword : tag.toUpperCase();
    if (!entry || isPrivate(tag)) vrs[key] = element.vr;
    const values = elementValues(element);
    const multi = entry ? entry.vm !== '1' : values.length > 1;
    attributes[key] = values.length === 0 ? null : multi || values.length > 1 ? values : values[0];
  }
  return { attributes, vrs };
}

const isPrivate = (tag: string) => Number.parseInt(tag.slice(3, 4), 16) % 2 === 1;

function required(attributes: DicomAttributes, keyword: string): string {
  const value = attributes[keyword];
  if (typeof value !== 'string' || value.trim() === '') throw new DicomParseError(`DICOM attribute ${keyword} does not exist`);
  return value.trim();
}

const numberOf = (attributes: DicomAttributes, keyword: string, fallback: number): number => {
  const value = Array.isArray(attributes[keyword]) ? (attributes[keyword] as unknown[])[0] : attributes[keyword];
  const n = typeof value === 'number' ? value : Number.parseInt(String(value ?? ''), 10);
  return Number.isFinite(n) ? n : fallback;
};

function geometryOf(attributes: DicomAttributes): FrameGeometry | undefined {
  if (attributes.Rows === undefined || attributes.Columns === undefined) return undefined;
  return {
    rows: numberOf(attributes, 'Rows', 0),
    columns: numberOf(attributes, 'Columns', 0),
    samplesPerPixel: numberOf(attributes, 'SamplesPerPixel', 1),
    bitsAllocated: numberOf(attributes, 'BitsAllocated', 16),
    bitsStored: numberOf(attributes, 'BitsStored', numberOf(attributes, 'BitsAllocated', 16)),
    pixelRepresentation: numberOf(attributes, 'PixelRepresentation', 0) === 1 ? 1 : 0,
    photometricInterpretation: String(attributes.PhotometricInterpretation ?? 'MONOCHROME2').trim(),
    planarConfiguration: numberOf(attributes, 'PlanarConfiguration', 0) === 1 ? 1 : 0,
    numberOfFrames: Math.max(1, numberOf(attributes, 'NumberOfFrames', 1)),
  };
}

const asBytes = (value: unknown): Uint8Array => {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new DicomParseError('PixelData has an unexpected encoding');
};

/** Native pixel data split into frames, little endian. */
function nativeFrames(chunks: Uint8Array[], geometry: FrameGeometry, bigEndian: boolean): Uint8Array[] {
  const all = chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks));
  const bitsPerFrame = geometry.rows * geometry.columns * geometry.samplesPerPixel * geometry.bitsAllocated;
  if (bitsPerFrame % 8 !== 0 && geometry.numberOfFrames > 1) throw new DicomParseError('Multi-frame 1-bit pixel data whose frames are not byte-aligned is not supported');
  const frameBytes = Math.ceil(bitsPerFrame / 8);
  if (all.length < frameBytes * geometry.numberOfFrames) {
    throw new DicomParseError(`PixelData holds ${all.length} bytes; ${geometry.numberOfFrames} frame(s) of ${geometry.rows}×${geometry.columns} need ${frameBytes * geometry.numberOfFrames} (the file is truncated)`);
  }
  const frames: Uint8Array[] = [];
  for (let f = 0; f < geometry.numberOfFrames; f++) {
    const frame = all.slice(f * frameBytes, (f + 1) * frameBytes);
    if (bigEndian && geometry.bitsAllocated > 8) swapBytes(frame, geometry.bitsAllocated / 8);
    frames.push(frame);
  }
  return frames;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Encapsulated pixel data: one complete codestream per frame. */
function encapsulatedFrames(chunks: Uint8Array[], geometry: FrameGeometry): Uint8Array[] {
  if (chunks.length === geometry.numberOfFrames) return chunks.map((c) => c.slice());
  if (geometry.numberOfFrames === 1) return [new Uint8Array(Buffer.concat(chunks))];
  throw new DicomParseError(`PixelData has ${chunks.length} fragments for ${geometry.numberOfFrames} frames; frames split over several fragments need a Basic Offset Table that this file lacks`);
}

/**
 * dcmjs reads a file whose pixel data is cut short without complaint, so check the PixelData element itself: its
 * declared length must fit in the file, and encapsulated data must end with its sequence delimiter.
 */
function assertPixelDataComplete(bytes: Uint8Array, transferSyntaxUID: string): void {
  if (transferSyntaxUID === '1.2.840.10008.1.2.1.99') return; // deflated: dcmjs inflates and checks the stream
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bigEndian = transferSyntaxUID === '1.2.840.10008.1.2.2';
  const implicit = transferSyntaxUID === '1.2.840.10008.1.2';
  const tag = Buffer.from(bigEndian ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00]);
  for (let at = buffer.indexOf(tag, 132); at >= 0; at = buffer.indexOf(tag, at + 1)) {
    let length: number;
    let header: number;
    if (implicit) {
      header = 8;
      if (at + header > buffer.length) break;
      length = buffer.readUInt32LE(at + 4);
    } else {
      const vr = buffer.toString('latin1', at + 4, at + 6);
      if (!['OB', 'OW', 'OF', 'OD', 'UN'].includes(vr)) continue;
      header = 12;
      if (at + header > buffer.length) break;
      length = bigEndian ? buffer.readUInt32BE(at + 8) : buffer.readUInt32LE(at + 8);
    }
    if (length === 0xffffffff) {
      const delimiter = Buffer.from(bigEndian ? [0xff, 0xfe, 0xe0, 0xdd] : [0xfe, 0xff, 0xdd, 0xe0]);
      if (buffer.lastIndexOf(delimiter) < at) throw new DicomParseError('The DICOM file is truncated: the encapsulated PixelData has no sequence delimiter');
    } else if (at + header + length > buffer.length) {
      throw new DicomParseError(`The DICOM file is truncated: PixelData declares ${length} bytes, the file holds ${buffer.length - at - header}`);
    }
    return;
  }
}

/** Parses a DICOM P10 file, or throws DicomParseError saying why it is not an importable instance. */
export function parseP10(bytes: Uint8Array): ParsedInstance {
  if (bytes.length < 132 || Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') !== 'DICM') {
    throw new DicomParseError('Not a DICOM P10 file: the DICM prefix after the 128-byte preamble is missing');
  }
  let file: { meta: RawDataset; dict: RawDataset };
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    file = dcmjs.data.DicomMessage.readFile(buffer, { untilTag: undefined });
  } catch (err) {
    throw new DicomParseError(`The DICOM file is truncated or malformed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const meta = convertDataset(file.meta, true);
  const declaredSyntax = typeof meta.attributes.TransferSyntaxUID === 'string' ? meta.attributes.TransferSyntaxUID : '';
  assertPixelDataComplete(bytes, declaredSyntax);
  const body = convertDataset(file.dict, true);
  const transferSyntaxUID = required(meta.attributes, 'TransferSyntaxUID');
  const all = { ...meta.attributes, ...body.attributes };
  const studyInstanceUID = required(all, 'StudyInstanceUID');
  const seriesInstanceUID = required(all, 'SeriesInstanceUID');
  const sopInstanceUID = required(all, 'SOPInstanceUID');
  const sopClassUID = required(all, 'SOPClassUID');

  const levels = { patient: {} as DicomAttributes, study: {} as DicomAttributes, series: {} as DicomAttributes, instance: {} as DicomAttributes };
  for (const [key, value] of Object.entries(all)) {
    const level = key in body.vrs || key in meta.vrs ? 'Instance' : levelOf(key);
    const target = level === 'Patient' ? levels.patient : level === 'Study' ? levels.study : level === 'Series' ? levels.series : levels.instance;
    target[key] = value;
  }

  const geometry = geometryOf(all);
  const pixel = file.dict['7FE00010'] ?? file.dict['7FE00008'] ?? file.dict['7FE00009'];
  let frameData: Uint8Array[] = [];
  if (geometry && pixel?.Value?.length) {
    const chunks = pixel.Value.map(asBytes);
    frameData = ENCAPSULATED_NATIVE.has(transferSyntaxUID)
      ? nativeFrames(chunks, geometry, transferSyntaxUID === '1.2.840.10008.1.2.2')
      : encapsulatedFrames(chunks, geometry);
  }

  return {
    transferSyntaxUID,
    studyInstanceUID,
    seriesInstanceUID,
    sopInstanceUID,
    sopClassUID,
    patient: levels.patient,
    study: levels.study,
    series: levels.series,
    instance: { DICOM: levels.instance, DICOMVRs: { ...meta.vrs, ...body.vrs } },
    ...(geometry && frameData.length > 0 && { geometry }),
    frameData,
  };
}
