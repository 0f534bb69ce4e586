/**
 * DICOM Part 10 files → ParsedInstance: the attributes of the metadata document split by level (§2.2, encoded
 * as attributes.ts says), the frame geometry, and the pixel data of each frame as found in the file.
 */
import { encodeDataset, type VrMap } from './attributes.js';
import { DicomMessage, type DicomDataset, type DicomFile } from './dcmjs-data.js';
import { DicomParseError } from './errors.js';
import { levelOf } from './levels.js';
import { extractBits, swapToLittleEndian } from './pixels.js';
import { checkStructure, hasDicmPrefix, StructureError, type StructureSummary } from './structure.js';
import { isEncapsulated, syntaxInfo } from './syntaxes.js';
import { TS, type DicomAttributes, type FrameGeometry, type ParsedInstance } from './types.js';

export { DicomParseError } from './errors.js';
export { NeedWholeFile } from './structure.js';
export { levelOf } from './levels.js';
export { lookupAttribute, type DictionaryEntry } from './dictionary.js';

const PIXEL_DATA = '7FE00010';
const FLOAT_PIXEL_DATA = ['7FE00008', '7FE00009'];
const PIXEL_TAGS: ReadonlySet<string> = new Set([PIXEL_DATA, ...FLOAT_PIXEL_DATA]);
const EXTENDED_OFFSET_TABLE = '7FE00001';

/** Attributes without which an instance cannot be placed in an image set. */
type RequiredUid = 'StudyInstanceUID' | 'SeriesInstanceUID' | 'SOPInstanceUID' | 'SOPClassUID';

/**
 * Parses a P10 file, or throws DicomParseError saying why it is not an importable instance (not DICOM P10,
 * truncated, a required UID missing, pixel data that does not fit its description).
 */
export function parseP10(bytes: Uint8Array): ParsedInstance {
  if (!hasDicmPrefix(bytes)) throw new DicomParseError('not a DICOM P10 file (no DICM preamble)');
  const { transferSyntaxUID, groupLength } = checkedFileMeta(bytes);
  const file = readWithDcmjs(bytes);
  const bigEndian = transferSyntaxUID === TS.explicitBE;

  const vrs: VrMap = {};
  // A deflated dataset may legitimately hold values longer than the file.
  const maxValueLength = transferSyntaxUID === TS.deflatedLE ? Infinity : bytes.length;
  const attributes = {
    ...(groupLength !== undefined && { FileMetaInformationGroupLength: groupLength }),
    ...encodeDataset(file.meta, vrs),
    ...encodeDataset(file.dict, vrs, { skip: PIXEL_TAGS, bigEndian, maxValueLength }),
  };
  const uid = (keyword: RequiredUid) => requiredUid(attributes, keyword);
  const identity = {
    studyInstanceUID: uid('StudyInstanceUID'),
    seriesInstanceUID: uid('SeriesInstanceUID'),
    sopInstanceUID: uid('SOPInstanceUID'),
    sopClassUID: uid('SOPClassUID'),
  };
  const levels = splitByLevel(attributes);
  const pixels = pixelDataOf(file.dict, attributes, transferSyntaxUID);

  return {
    transferSyntaxUID,
    ...identity,
    patient: levels.Patient,
    study: levels.Study,
    series: levels.Series,
    instance: { DICOM: levels.Instance, DICOMVRs: vrs },
    ...(pixels && { geometry: pixels.geometry }),
    frameData: pixels?.frames ?? [],
  };
}

const IDENTITY_TAGS: Record<RequiredUid, number> = {
  StudyInstanceUID: 0x0020000d,
  SeriesInstanceUID: 0x0020000e,
  SOPInstanceUID: 0x00080018,
  SOPClassUID: 0x00080016,
};
const IDENTITY_TAG_SET: ReadonlySet<number> = new Set(Object.values(IDENTITY_TAGS));

export type P10Identity = Pick<ParsedInstance, 'transferSyntaxUID' | 'studyInstanceUID' | 'seriesInstanceUID' | 'sopInstanceUID' | 'sopClassUID'>;

/**
 * What a P10 file is, checked as parseP10 checks its shape (preamble, file meta, every declared length against the
 * bytes there, the four UIDs), without dcmjs and without decoding any other value: a small fraction of parseP10's
 * cost. store_dicom runs it on every file before sending; the receiver then parses the files in full. Given only the
 * first bytes of a file of `fileLength` bytes, it decides when it can and throws NeedWholeFile when it cannot
 * (checkStructure).
 */
export function identifyP10(bytes: Uint8Array, fileLength = bytes.length): P10Identity {
  if (!hasDicmPrefix(bytes)) throw new DicomParseError('not a DICOM P10 file (no DICM preamble)');
  const { transferSyntaxUID, values } = checkedFileMeta(bytes, IDENTITY_TAG_SET, fileLength);
  const uid = (keyword: RequiredUid) => requiredUid({ [keyword]: values.get(IDENTITY_TAGS[keyword]) }, keyword);
  return {
    transferSyntaxUID,
    studyInstanceUID: uid('StudyInstanceUID'),
    seriesInstanceUID: uid('SeriesInstanceUID'),
    sopInstanceUID: uid('SOPInstanceUID'),
    sopClassUID: uid('SOPClassUID'),
  };
}

function checkedFileMeta(bytes: Uint8Array, wanted?: ReadonlySet<number>, fileLength?: number): StructureSummary & { transferSyntaxUID: string } {
  let meta: StructureSummary;
  try {
    meta = checkStructure(bytes, wanted, fileLength);
  } catch (err) {
    if (err instanceof StructureError) throw new DicomParseError(err.message);
    throw err;
  }
  if (!meta.transferSyntaxUID) throw new DicomParseError('DICOM attribute TransferSyntaxUID does not exist');
  return { ...meta, transferSyntaxUID: meta.transferSyntaxUID };
}

/**
 * dcmjs refuses a few things that the structural check has already shown to be harmless: several character sets
 * (ISO 2022 code extensions, common in Japanese and Korean data; dcmjs then decodes with the first) and a file meta
 * group without its group length. Those are read again leniently.
 */
const LENIENT_RETRY = [/multiple character sets/i, /Unsupported character set/i, /meta length tag/i];

function readWithDcmjs(bytes: Uint8Array): DicomFile {
  // dcmjs wants an ArrayBuffer of its own; a Node Buffer is usually a window on a larger pool. (Buffer#slice makes
  // no copy, hence Uint8Array's.)
  const buffer = (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : Uint8Array.prototype.slice.call(bytes).buffer) as ArrayBuffer;
  try {
    return DicomMessage.readFile(buffer);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (LENIENT_RETRY.some((pattern) => pattern.test(message))) return DicomMessage.readFile(buffer, { ignoreErrors: true });
    throw new DicomParseError(`malformed DICOM file: ${message}`);
  }
}

function requiredUid(attributes: DicomAttributes, keyword: RequiredUid): string {
  const value = attributes[keyword];
  if (value === undefined) throw new DicomParseError(`DICOM attribute ${keyword} does not exist`);
  if (typeof value !== 'string' || value.trim() === '') throw new DicomParseError(`DICOM attribute ${keyword} has no value`);
  return value.trim();
}

type Levels = Record<'Patient' | 'Study' | 'Series' | 'Instance', DicomAttributes>;

function splitByLevel(attributes: DicomAttributes): Levels {
  const levels: Levels = { Patient: {}, Study: {}, Series: {}, Instance: {} };
  for (const [key, value] of Object.entries(attributes)) levels[levelOf(key)][key] = value;
  return levels;
}

// ---------------------------------------------------------------------------------------------------------------
// Pixel data

interface PixelData {
  geometry: FrameGeometry;
  frames: Uint8Array[];
}

function pixelDataOf(dataset: DicomDataset, attributes: DicomAttributes, transferSyntaxUID: string): PixelData | undefined {
  const floatTag = FLOAT_PIXEL_DATA.find((tag) => dataset[tag]);
  if (floatTag) throw new DicomParseError(`${floatTag === '7FE00008' ? 'FloatPixelData' : 'DoubleFloatPixelData'} is not supported; HealthImaging stores integer pixel data`);
  const element = dataset[PIXEL_DATA];
  const chunks = (element?.Value ?? []).filter(isBinary).map(asBytes);
  if (chunks.every((c) => c.length === 0)) return undefined;
  const geometry = geometryOf(attributes);
  const frames = !isEncapsulated(transferSyntaxUID)
    ? nativeFrames(concat(chunks), geometry, transferSyntaxUID === TS.explicitBE)
    : syntaxInfo(transferSyntaxUID)?.encoding === 'video'
      ? [concat(chunks)] // one stream for all frames; it has no per-frame codestreams
      : encapsulatedFrames(chunks, geometry, extendedOffsets(dataset));
  return { geometry, frames };
}

const isBinary = (value: unknown): value is ArrayBuffer | ArrayBufferView => value instanceof ArrayBuffer || ArrayBuffer.isView(value);

function asBytes(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  return value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Frame geometry from pixel module attributes (of a file, or of a metadata document's levels merged). */
export function geometryOf(attributes: DicomAttributes): FrameGeometry {
  const required = (keyword: string): number => {
    const value = integerOf(attributes[keyword]);
    if (value === undefined || value <= 0) throw new DicomParseError(`DICOM attribute ${keyword} ${value === undefined ? 'does not exist' : 'is not positive'}; it is required with PixelData`);
    return value;
  };
  const bitsAllocated = required('BitsAllocated');
  const photometric = attributes.PhotometricInterpretation;
  return {
    rows: required('Rows'),
    columns: required('Columns'),
    samplesPerPixel: integerOf(attributes.SamplesPerPixel) ?? 1,
    bitsAllocated,
    bitsStored: integerOf(attributes.BitsStored) ?? bitsAllocated,
    pixelRepresentation: integerOf(attributes.PixelRepresentation) === 1 ? 1 : 0,
    photometricInterpretation: typeof photometric === 'string' ? photometric.trim() : 'MONOCHROME2',
    planarConfiguration: integerOf(attributes.PlanarConfiguration) === 1 ? 1 : 0,
    numberOfFrames: Math.max(1, integerOf(attributes.NumberOfFrames) ?? 1),
  };
}

/** A number from a US value or an IS string (first value of a multi-valued attribute). */
function integerOf(value: unknown): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  const n = typeof first === 'number' ? first : typeof first === 'string' ? Number.parseInt(first, 10) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Native pixel data: each frame's bytes, little endian; 1-bit frames repacked to start on a byte. */
function nativeFrames(data: Uint8Array, geometry: FrameGeometry, bigEndian: boolean): Uint8Array[] {
  const { rows, columns, samplesPerPixel, bitsAllocated, numberOfFrames } = geometry;
  if (bitsAllocated !== 1 && bitsAllocated % 8 !== 0) throw new DicomParseError(`BitsAllocated ${bitsAllocated} is not supported`);
  const ybr422 = geometry.photometricInterpretation === 'YBR_FULL_422' && bitsAllocated === 8;
  const frameBits = rows * columns * (ybr422 ? 2 : samplesPerPixel) * bitsAllocated;
  if (data.length * 8 < frameBits * numberOfFrames) {
    throw new DicomParseError(`PixelData holds ${data.length} bytes, less than the ${Math.ceil((frameBits * numberOfFrames) / 8)} that ${numberOfFrames} frame(s) of ${rows}×${columns}×${samplesPerPixel}×${bitsAllocated} bits need`);
  }
  const littleEndian = bigEndian && bitsAllocated > 8 ? swapToLittleEndian(data, bitsAllocated / 8) : data;
  const frames: Uint8Array[] = [];
  for (let f = 0; f < numberOfFrames; f++) {
    frames.push(
      bitsAllocated === 1
        ? extractBits(littleEndian, f * frameBits, frameBits)
        : littleEndian.subarray((f * frameBits) / 8, ((f + 1) * frameBits) / 8),
    );
  }
  return frames;
}

/**
 * Encapsulated pixel data as dcmjs returns it: one buffer per frame when the Basic Offset Table is present (it
 * joins each frame's fragments), else one buffer per fragment. Fragments are grouped into frames by the Extended
 * Offset Table when there is one, else by where a codestream starts (JPEG SOI, JPEG 2000 SOC); with one frame all
 * fragments are that frame.
 */
function encapsulatedFrames(chunks: Uint8Array[], geometry: FrameGeometry, offsets: number[] | undefined): Uint8Array[] {
  const frameCount = geometry.numberOfFrames;
  if (chunks.length === frameCount) return chunks;
  if (frameCount === 1) return [concat(chunks)];
  const groups = offsets ? groupByOffsets(chunks, offsets) : groupByCodestreamStart(chunks);
  if (groups.length !== frameCount) {
    throw new DicomParseError(`PixelData has ${chunks.length} fragments that could not be matched to its ${frameCount} frames (no offset table, and frames do not start recognisably)`);
  }
  return groups.map(concat);
}

/** Offsets (7FE0,0001) of each frame's first fragment item, relative to the first item after the offset table. */
function extendedOffsets(dataset: DicomDataset): number[] | undefined {
  const value = dataset[EXTENDED_OFFSET_TABLE]?.Value?.find(isBinary);
  if (!value) return undefined;
  const bytes = asBytes(value);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += 8) offsets.push(Number(view.getBigUint64(at, true)));
  return offsets;
}

function groupByOffsets(fragments: Uint8Array[], offsets: number[]): Uint8Array[][] {
  const starts = new Set(offsets);
  const groups: Uint8Array[][] = [];
  let position = 0;
  for (const fragment of fragments) {
    if (starts.has(position) || groups.length === 0) groups.push([]);
    groups.at(-1)!.push(fragment);
    position += 8 + fragment.length; // item tag and length, then the fragment
  }
  return groups;
}

function groupByCodestreamStart(fragments: Uint8Array[]): Uint8Array[][] {
  const groups: Uint8Array[][] = [];
  for (const fragment of fragments) {
    if (startsCodestream(fragment) || groups.length === 0) groups.push([]);
    groups.at(-1)!.push(fragment);
  }
  return groups;
}

/** JPEG/JPEG-LS SOI (FFD8), JPEG 2000/HTJ2K SOC+SIZ (FF4F FF51), or a JP2 signature box. */
function startsCodestream(b: Uint8Array): boolean {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return true;
  if (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) return true;
  return b[4] === 0x6a && b[5] === 0x50 && b[6] === 0x20 && b[7] === 0x20; // 'jP  '
}
