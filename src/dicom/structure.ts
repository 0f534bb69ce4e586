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
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
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
 * Checks that the file meta group and the dataset are complete; returns what dcmjs does not, and the text values of
 * the top-level elements in `wanted` (tags as numbers, e.g. 0x0020000d), for callers that need a few UIDs and not
 * a full parse.
 */
export function checkStructure(bytes: Uint8Array, wanted: ReadonlySet<number> = NOTHING): StructureSummary {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { transferSyntaxUID, groupLength, end } = walkFileMeta(view);
  const values = new Map<number, string>();
  if (transferSyntaxUID === undefined) return { transferSyntaxUID, groupLength, values };
  const top = { wanted, values };
  if (transferSyntaxUID === TS.deflatedLE) {
    const inflated = inflate(bytes.subarray(end));
    walkDataset(new DataView(inflated.buffer, inflated.byteOffset, inflated.byteLength), 0, EXPLICIT_LE, false, top);
  } else {
    const encoding: Encoding = {
      littleEndian: transferSyntaxUID !== TS.explicitBE,
      explicitVr: transferSyntaxUID !== TS.implicitLE,
    };
    walkDataset(view, end, encoding, false, top);
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
function walkFileMeta(view: DataView): FileMetaSummary & { end: number } {
  let pos = PREAMBLE_LENGTH;
  let transferSyntaxUID: string | undefined;
  let groupLength: number | undefined;
  while (pos + 2 <= view.byteLength && view.getUint16(pos, true) === 0x0002) {
    const header = readHeader(view, pos, EXPLICIT_LE);
    if (header.length === UNDEFINED_LENGTH) throw new StructureError(`malformed file meta: ${tagName(header.tag)} has an undefined length`);
    const valueEnd = header.valueStart + header.length;
    if (valueEnd > view.byteLength) throw truncated(header.tag, header.length, view.byteLength - header.valueStart);
    if (header.tag === 0x00020010) transferSyntaxUID = asciiValue(view, header.valueStart, header.length);
    if (header.tag === 0x00020000 && header.length === 4) groupLength = view.getUint32(header.valueStart, true);
    pos = valueEnd;
  }
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

function readHeader(view: DataView, pos: number, encoding: Encoding): Header {
  need(view, pos, 8);
  const le = encoding.littleEndian;
  const tag = ((view.getUint16(pos, le) << 16) | view.getUint16(pos + 2, le)) >>> 0;
  // Items and delimiters have no VR in any transfer syntax.
  if (!encoding.explicitVr || tag >>> 16 === 0xfffe) return { tag, vr: undefined, length: view.getUint32(pos + 4, le), valueStart: pos + 8 };
  const vr = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5));
  if (!LONG_VRS.has(vr)) return { tag, vr, length: view.getUint16(pos + 6, le), valueStart: pos + 8 };
  need(view, pos, 12);
  return { tag, vr, length: view.getUint32(pos + 8, le), valueStart: pos + 12 };
}

function need(view: DataView, pos: number, count: number): void {
  if (pos + count > view.byteLength) throw new StructureError(`truncated file: it ends inside an element header at byte ${pos}`);
}

/**
 * Walks elements from `pos`; inside an item of undefined length it stops after the item delimiter. Returns the
 * position after the last element.
 */
function walkDataset(view: DataView, pos: number, encoding: Encoding, inItem: boolean, top?: { wanted: ReadonlySet<number>; values: Map<number, string> }): number {
  while (pos < view.byteLength) {
    const header = readHeader(view, pos, encoding);
    if (header.tag === ITEM_DELIMITER && inItem) return header.valueStart;
    pos = skipValue(view, header, encoding);
    if (top?.wanted.has(header.tag) && header.length !== UNDEFINED_LENGTH) top.values.set(header.tag, asciiValue(view, header.valueStart, header.length));
  }
  if (inItem) throw new StructureError('truncated file: it ends inside a sequence item');
  return pos;
}

function skipValue(view: DataView, header: Header, encoding: Encoding): number {
  if (header.length !== UNDEFINED_LENGTH) {
    const end = header.valueStart + header.length;
    if (end > view.byteLength) throw truncated(header.tag, header.length, view.byteLength - header.valueStart);
    return end;
  }
  // Undefined length: a sequence or encapsulated pixel data. A UN value of undefined length holds an Implicit VR
  // Little Endian sequence (PS3.5 §6.2.2).
  return walkItems(view, header.valueStart, header.vr === 'UN' ? IMPLICIT_LE : encoding);
}

function walkItems(view: DataView, pos: number, encoding: Encoding): number {
  for (;;) {
    const header = readHeader(view, pos, { ...encoding, explicitVr: false });
    if (header.tag === SEQUENCE_DELIMITER) return header.valueStart;
    if (header.tag !== ITEM) throw new StructureError(`malformed file: ${tagName(header.tag)} found where a sequence item was expected at byte ${pos}`);
    pos = header.length === UNDEFINED_LENGTH ? walkDataset(view, header.valueStart, encoding, true) : skipValue(view, header, encoding);
  }
}

function truncated(tag: number, declared: number, available: number): StructureError {
  return new StructureError(`truncated file: ${tagName(tag)} declares ${declared} bytes but only ${Math.max(0, available)} remain`);
}

function tagName(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
