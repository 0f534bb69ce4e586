/**
 * Stored instances back to DICOM: the native (Explicit VR Little Endian) bytes of a stored frame, and whole Part 10
 * files written by dcmjs from the metadata document's attributes plus the stored frames, in the stored transfer
 * syntax (frames encapsulated as stored) or in Explicit VR Little Endian (frames decoded).
 *
 * Decoding can change what the pixel module says: JPEG colour marked YBR_* decodes to RGB, JPEG 2000 / HTJ2K marked
 * YBR_RCT / YBR_ICT decodes to RGB, native YBR_FULL_422 is expanded to YBR_FULL (codecs.ts). The document keeps the
 * attributes of the received file, so a written file gets the Photometric Interpretation of the pixels it holds.
 * Frames re-encoded on import (HTJ2K, JPEG 2000 lossless) use the reversible colour transform, so a file in their
 * stored syntax says YBR_RCT for RGB pixels.
 */
import { Buffer } from 'node:buffer';
import { decodeFrame } from './codecs.js';
import { DicomDict, type DicomDataset, type DicomElement } from './dcmjs-data.js';
import { BINARY_VRS, tagOf, vrOf } from './dicom-json.js';
import { DicomParseError } from './errors.js';
import { geometryOf } from './p10.js';
import { bytesPerSample, interleavedToPlanar } from './pixels.js';
import { syntaxInfo } from './syntaxes.js';
import { derivedUid } from './synthetic.js';
import { TS, type DicomAttributes, type FrameGeometry } from './types.js';

export { geometryOf } from './p10.js';

const IMPLEMENTATION_CLASS_UID = derivedUid('healthimaging-mcp', 'implementation');
const IMPLEMENTATION_VERSION_NAME = 'HIMCP_WADO_1';

/** An instance as stored: the document's attributes (all levels merged, group 0002 as received) and its frames. */
export interface StoredInstance {
  attributes: DicomAttributes;
  /** VRs of the 8-hex keys (the document's DICOMVRs). */
  vrs: Readonly<Record<string, string>>;
  storedTransferSyntaxUID: string;
  /** The stored bytes of each frame, in frame order. */
  frames: Uint8Array[];
}

/** Whether stored frames of this syntax can be served as Explicit VR Little Endian (all but video). */
export function canDecodeToNative(storedTransferSyntaxUID: string): boolean {
  const encoding = syntaxInfo(storedTransferSyntaxUID)?.encoding;
  return encoding !== undefined && encoding !== 'video';
}

/**
 * One stored frame as Explicit VR Little Endian pixel data, laid out as the instance's attributes say (planar
 * colour when PlanarConfiguration is 1; 1-bit frames packed from their first byte).
 */
export async function nativeFrame(stored: Uint8Array, storedTransferSyntaxUID: string, geometry: FrameGeometry): Promise<Uint8Array> {
  if (storedTransferSyntaxUID === TS.explicitLE) return stored;
  const decoded = await decodeFrame(stored, storedTransferSyntaxUID, geometry);
  const planar = geometry.planarConfiguration === 1 && decoded.samplesPerPixel > 1 && decoded.bitsAllocated > 1;
  return planar ? interleavedToPlanar(decoded.pixels, decoded.samplesPerPixel, bytesPerSample(decoded.bitsAllocated)) : decoded.pixels;
}

/** The Photometric Interpretation of the pixels that decoding frames received in `receivedSyntax` gives. */
export function decodedPhotometric(photometric: string, receivedSyntax: string | undefined): string {
  const encoding = receivedSyntax === undefined ? undefined : syntaxInfo(receivedSyntax)?.encoding;
  if (encoding === 'native' && photometric === 'YBR_FULL_422') return 'YBR_FULL';
  if (encoding === 'jpeg' && photometric.startsWith('YBR')) return 'RGB';
  if ((encoding === 'jpeg2000' || encoding === 'htj2k') && (photometric === 'YBR_RCT' || photometric === 'YBR_ICT')) return 'RGB';
  return photometric;
}

/**
 * Writes the instance as a Part 10 file in `transferSyntaxUID`: its stored syntax, or Explicit VR Little Endian.
 * Instances without frames are written in Explicit VR Little Endian whatever is asked.
 */
export async function writeP10(instance: StoredInstance, transferSyntaxUID: string): Promise<Uint8Array> {
  const { attributes, storedTransferSyntaxUID, frames } = instance;
  const dataset = toDcmjsDataset(attributes, instance.vrs);
  let syntax: string = TS.explicitLE;
  if (frames.length > 0) {
    if (transferSyntaxUID !== TS.explicitLE && transferSyntaxUID !== storedTransferSyntaxUID) {
      throw new DicomParseError(`transfer syntax ${transferSyntaxUID} is neither the stored syntax ${storedTransferSyntaxUID} nor Explicit VR Little Endian`);
    }
    syntax = transferSyntaxUID;
    Object.assign(dataset, await pixelElements(instance, syntax));
  }
  if (containsNonAscii(attributes)) {
    // dcmjs writes text as UTF-8, whatever character set the received file declared.
    dataset['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
  }
  const dict = new DicomDict(fileMeta(attributes, syntax));
  dict.dict = dataset;
  return new Uint8Array(dict.write({ allowInvalidVRLength: true, fragmentMultiframe: false }));
}

function fileMeta(attributes: DicomAttributes, syntax: string): DicomDataset {
  const uid = (value: unknown) => ({ vr: 'UI', Value: [String(value ?? '').trim()] });
  return {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': uid(attributes.SOPClassUID),
    '00020003': uid(attributes.SOPInstanceUID),
    '00020010': uid(syntax),
    '00020012': uid(IMPLEMENTATION_CLASS_UID),
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION_NAME] },
  };
}

/** PixelData and the pixel module attributes that depend on how the frames are encoded in `syntax`. */
async function pixelElements(instance: StoredInstance, syntax: string): Promise<DicomDataset> {
  const { attributes, storedTransferSyntaxUID, frames } = instance;
  const geometry = geometryOf(attributes);
  const received = typeof attributes.TransferSyntaxUID === 'string' ? attributes.TransferSyntaxUID.trim() : undefined;
  const decoded = decodedPhotometric(geometry.photometricInterpretation, received);
  const elements: DicomDataset = {};
  const set = (tag: string, vr: string, value: unknown) => (elements[tag] = { vr, Value: [value] });

  if (syntax !== TS.explicitLE) {
    // Frames exactly as stored, one fragment each.
    if (syntaxInfo(syntax)?.keptAsReceived === false && geometry.samplesPerPixel > 1) {
      set('00280004', 'CS', decoded === 'RGB' ? 'YBR_RCT' : decoded);
      set('00280006', 'US', 0);
    }
    elements['7FE00010'] = { vr: 'OB', Value: frames.map(arrayBufferOf) };
    return elements;
  }

  if (decoded !== geometry.photometricInterpretation) set('00280004', 'CS', decoded);
  if (decoded === 'YBR_FULL' && geometry.photometricInterpretation === 'YBR_FULL_422') set('00280006', 'US', 0);
  const native: Uint8Array[] = [];
  for (const frame of frames) native.push(await nativeFrame(frame, storedTransferSyntaxUID, geometry));
  const pixels = geometry.bitsAllocated === 1 ? packBitFrames(native, geometry.rows * geometry.columns * geometry.samplesPerPixel) : Buffer.concat(native);
  elements['7FE00010'] = { vr: geometry.bitsAllocated > 8 ? 'OW' : 'OB', Value: [arrayBufferOf(pixels)] };
  return elements;
}

/** An ArrayBuffer holding exactly `bytes`, as dcmjs wants (Buffer#slice would share a pooled buffer, not copy). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : Uint8Array.prototype.slice.call(bytes).buffer) as ArrayBuffer;
}

/**
 * 1-bit frames are stored packed from their first byte each; in a file they follow each other bit by bit
 * (PS3.5 §8.1.1), which differs when a frame's bit count is not a multiple of 8.
 */
export function packBitFrames(frames: Uint8Array[], bitsPerFrame: number): Uint8Array {
  if (bitsPerFrame % 8 === 0) return Buffer.concat(frames);
  const out = new Uint8Array(Math.ceil((bitsPerFrame * frames.length) / 8));
  let bit = 0;
  for (const frame of frames) {
    for (let i = 0; i < bitsPerFrame; i++, bit++) {
      if ((frame[i >>> 3]! >>> (i & 7)) & 1) out[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Document attributes → dcmjs dataset

const NUMBER_VRS = new Set(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'UV', 'SV']);

const asList = (value: unknown): unknown[] => (value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The document's attributes as a tag-keyed dcmjs dataset, without group 0002 (the file meta is written anew). */
export function toDcmjsDataset(attributes: DicomAttributes, vrs: Readonly<Record<string, string>>): DicomDataset {
  const dataset: DicomDataset = {};
  for (const [key, value] of Object.entries(attributes)) {
    const tag = tagOf(key);
    if (!tag || tag.startsWith('0002')) continue;
    dataset[tag] = elementOf(vrOf(key, value, vrs), asList(value), vrs);
  }
  return dataset;
}

function elementOf(vr: string, values: unknown[], vrs: Readonly<Record<string, string>>): DicomElement {
  if (vr === 'SQ') return { vr, Value: values.map((item) => toDcmjsDataset((item ?? {}) as DicomAttributes, vrs)) };
  if (typeof values[0] === 'string' && (BINARY_VRS.has(vr) || NUMBER_VRS.has(vr))) {
    // Binary values (and numbers a file carried as bytes) are base64 in the document.
    return { vr: BINARY_VRS.has(vr) ? vr : 'OB', Value: [arrayBufferOf(Buffer.from(values[0], 'base64'))] };
  }
  if (NUMBER_VRS.has(vr)) return { vr, Value: values.filter((v) => v !== null).map(Number) };
  if (vr === 'AT') return { vr, Value: values.filter((v) => v !== null).map((v) => Number.parseInt(String(v), 16)) };
  return { vr, Value: values.map((v) => (v === null ? '' : String(v))) };
}

function containsNonAscii(value: unknown): boolean {
  if (typeof value === 'string') return /[^\x00-\x7f]/.test(value);
  if (Array.isArray(value)) return value.some(containsNonAscii);
  if (value && typeof value === 'object') return Object.values(value).some(containsNonAscii);
  return false;
}
