/**
 * A structural pass over a P10 file before dcmjs reads it. dcmjs 0.51.1 does not notice a file that ends early:
 * it zero-fills a value cut short (a truncated PixelData reads as its full length) and silently stops at a cut
 * element header, returning a dataset without the rest. Importing such a file would store wrong pixels or drop
 * attributes, so this pass walks the element headers (not the values) and checks every declared length against
 * the bytes that are there. It also reads the Transfer Syntax UID, which dcmjs needs and does not check for.
 */
import { inflateRawSync } from 'node:zlib';
import { TS } from './types.js';

export const PREAMBLE_LENGTH = 132;

/** Thrown for files that are not DICOM P10 or are cut short; p10.ts turns it into a DicomParseError. */
export class StructureError extends Error {
  override readonly name = 'StructureError';
}

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 §7.1.2). */
export const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;

interface Encoding {
  littleEndian: boolean;
  explicitVr: boolean;
}
const EXPLICIT_LE: Encoding = { littleEndian: true, explicitVr: true };
const IMPLICIT_LE: Encoding = { littleEndian: true, explicitVr: false };

export function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= PREAMBLE_LENGTH && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

export interface FileMetaSummary {
  /** Undefined when the file meta has none. */
  transferSyntaxUID: string | undefined;
  /** (0002,0000), which dcmjs consumes without returning it. */
  groupLength: number | undefined;
}

export interface StructureSummary extends FileMetaSummary {
  /** The text values (trailing padding removed) of the top-level elements asked for that the dataset holds. */
  values: Map<number, string>;
}

/**
 * Thrown by checkStructure given the first bytes of a file (`fileLength` larger than the bytes) when they are not
 * enough to decide: an element, an item or a wanted value lies beyond them. The caller then checks the whole file.
 */
export class NeedWholeFile extends Error {
  override readonly name = 'NeedWholeFile';
  constructor() {
    super('the first bytes of the file are not enough to check it');
  }
}

/** The bytes walked: the whole file, or its first bytes when `fileLength` is larger (see checkStructure). */
interface Bytes {
  view: DataView;
  fileLength: number;
}

/**
 * Checks that the file meta group and the dataset are complete; returns what dcmjs does not, and the text values of
 * the top-level elements in `wanted` (tags as numbers, e.g. 0x0020000d), for callers that need a few UIDs and not
 * a full parse.
 *
 * `bytes` may be only the start of a file of `fileLength` bytes: a value that runs past them is then taken as
 * present when the file is long enough and nothing follows it, which is how most files end (native pixel data
 * last). Anything else past them throws NeedWholeFile.
 */
export function checkStructure(bytes: Uint8Array, wanted: ReadonlySet<number> = NOTHING, fileLength = bytes.length): StructureSummary {
  const b: Bytes = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), fileLength: Math.max(fileLength, bytes.length) };
  const { transferSyntaxUID, groupLength, end } = walkFileMeta(b);
  const values = new Map<number, string>();
  if (transferSyntaxUID === undefined) return { transferSyntaxUID, groupLength, values };
  const top = { wanted, values };
  if (transferSyntaxUID === TS.deflatedLE) {
    if (b.fileLength > bytes.length) throw new NeedWholeFile();
    const inflated = inflate(bytes.subarray(end));
    walkDataset({ view: new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength), fileLength: inflated.length }, 0, EXPLICIT_LE, false, top);
  } else {
    const encoding: Encoding = {
      littleEndian: transferSyntaxUID !== TS.explicitBE,
      explicitVr: transferSyntaxUID !== TS.implicitLE,
    };
    walkDataset(b, end, encoding, false, top);
  }
  return { transferSyntaxUID, groupLength, values };
}

const NOTHING: ReadonlySet<number> = new Set();

function inflate(deflated: Uint8Array): Uint8Array {
  try {
    return inflateRawSync(deflated);
  } catch (err) {
    throw new StructureError(`truncated file: the deflated dataset cannot be inflated (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Group 0002 is always Explicit VR Little Endian and ends where the first element of another group starts. */
function walkFileMeta(b: Bytes): FileMetaSummary & { end: number } {
  const { view } = b;
  let pos = PREAMBLE_LENGTH;
  let transferSyntaxUID: string | undefined;
  let groupLength: number | undefined;
  while (pos + 2 <= view.byteLength && view.getUint16(pos, true) === 0x0002) {
    const header = readHeader(b, pos, EXPLICIT_LE);
    if (header.length === UNDEFINED_LENGTH) throw new StructureError(`malformed file meta: ${tagName(header.tag)} has an undefined length`);
    const valueEnd = header.valueStart + header.length;
    if (valueEnd > view.byteLength) {
      if (valueEnd <= b.fileLength) throw new NeedWholeFile();
      throw truncated(header.tag, header.length, b.fileLength - header.valueStart);
    }
    if (header.tag === 0x00020010) transferSyntaxUID = asciiValue(view, header.valueStart, header.length);
    if (header.tag === 0x00020000 && header.length === 4) groupLength = view.getUint32(header.valueStart, true);
    pos = valueEnd;
  }
  if (pos + 2 > view.byteLength && b.fileLength > view.byteLength) throw new NeedWholeFile();
  // A P10 file holds a dataset after its file meta.
  if (pos >= view.byteLength) throw new StructureError('truncated file: it ends before the dataset');
  return { transferSyntaxUID: transferSyntaxUID || undefined, groupLength, end: pos };
}

function asciiValue(view: DataView, start: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(view.getUint8(start + i));
  return text.replace(/[\0 ]+$/, '');
}

interface Header {
  tag: number;
  vr: string | undefined;
  length: number;
  valueStart: number;
}

function readHeader(b: Bytes, pos: number, encoding: Encoding): Header {
  const { view } = b;
  need(b, pos, 8);
  const le = encoding.littleEndian;
  const tag = ((view.getUint16(pos, le) << 16) | view.getUint16(pos + 2, le)) >>> 0;
  // Items and delimiters have no VR in any transfer syntax.
  if (!encoding.explicitVr || tag >>> 16 === 0xfffe) return { tag, vr: undefined, length: view.getUint32(pos + 4, le), valueStart: pos + 8 };
  const vr = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5));
  if (!LONG_VRS.has(vr)) return { tag, vr, length: view.getUint16(pos + 6, le), valueStart: pos + 8 };
  need(b, pos, 12);
  return { tag, vr, length: view.getUint32(pos + 8, le), valueStart: pos + 12 };
}

function need(b: Bytes, pos: number, count: number): void {
  if (pos + count <= b.view.byteLength) return;
  if (b.fileLength > b.view.byteLength) throw new NeedWholeFile();
  throw new StructureError(`truncated file: it ends inside an element header at byte ${pos}`);
}

/**
 * Walks elements from `pos`; inside an item of undefined length it stops after the item delimiter. Returns the
 * position after the last element.
 */
function walkDataset(b: Bytes, pos: number, encoding: Encoding, inItem: boolean, top?: { wanted: ReadonlySet<number>; values: Map<number, string> }): number {
  const { view } = b;
  while (pos < view.byteLength) {
    const header = readHeader(b, pos, encoding);
    if (header.tag === ITEM_DELIMITER && inItem) return header.valueStart;
    pos = skipValue(b, header, encoding);
    if (top?.wanted.has(header.tag) && header.length !== UNDEFINED_LENGTH) {
      if (pos > view.byteLength) throw new NeedWholeFile();
      top.values.set(header.tag, asciiValue(view, header.valueStart, header.length));
    }
  }
  // Only the first bytes were given and a value ran past them: fine if the file ends there, unknown if not.
  if (pos < b.fileLength) throw new NeedWholeFile();
  if (inItem) throw new StructureError('truncated file: it ends inside a sequence item');
  return pos;
}

function skipValue(b: Bytes, header: Header, encoding: Encoding): number {
  if (header.length !== UNDEFINED_LENGTH) {
    const end = header.valueStart + header.length;
    if (end > b.fileLength) throw truncated(header.tag, header.length, b.fileLength - header.valueStart);
    return end;
  }
  // Undefined length: a sequence or encapsulated pixel data. A UN value of undefined length holds an Implicit VR
  // Little Endian sequence (PS3.5 §6.2.2).
  return walkItems(b, header.valueStart, header.vr === 'UN' ? IMPLICIT_LE : encoding);
}

function walkItems(b: Bytes, pos: number, encoding: Encoding): number {
  for (;;) {
    const header = readHeader(b, pos, { ...encoding, explicitVr: false });
    if (header.tag === SEQUENCE_DELIMITER) return header.valueStart;
    if (header.tag !== ITEM) throw new StructureError(`malformed file: ${tagName(header.tag)} found where a sequence item was expected at byte ${pos}`);
    pos = header.length === UNDEFINED_LENGTH ? walkDataset(b, header.valueStart, encoding, true) : skipValue(b, header, encoding);
  }
}

function truncated(tag: number, declared: number, available: number): StructureError {
  return new StructureError(`truncated file: ${tagName(tag)} declares ${declared} bytes but only ${Math.max(0, available)} remain`);
}

function tagName(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
