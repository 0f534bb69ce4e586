/**
 * Deterministic synthetic DICOM for the demo data and the tests: obviously fictional patients, recognisable
 * phantoms (a chest CT, a head MR, an X-ray angiography cine), UIDs derived from the seed so every run produces
 * the same bytes, written by dcmjs as Explicit VR Little Endian P10 files.
 */
import { createHash } from 'node:crypto';
import { DicomDict, DicomMetaDictionary, type DicomDataset } from './dcmjs-data.js';
import { TS } from './types.js';

export const DEMO_PRIVATE_CREATOR = 'HEALTHIMAGING_MCP_DEMO';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const XA_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.12.1';
const IMPLEMENTATION_CLASS_UID = derivedUid('healthimaging-mcp', 'implementation');
const IMPLEMENTATION_VERSION_NAME = 'HIMCP_SYNTH_1';

export interface SeriesOptions {
  /** Use an obviously fictional name, e.g. `DEMO^CHEST^CT`. */
  patientName: string;
  patientId: string;
  slices: number;
  rows: number;
  columns: number;
  /** Drives the UIDs and the phantom's noise: the same options give the same bytes. */
  seed: number;
  studyInstanceUID?: string;
  seriesInstanceUID?: string;
  /** `YYYYMMDD`; default 20240115. */
  studyDate?: string;
  accessionNumber?: string;
  studyDescription?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  /** Adds the private creator (0009,0010) `HEALTHIMAGING_MCP_DEMO` and its element (0009,1001). */
  privateTag?: boolean;
}

export interface MultiframeOptions extends Omit<SeriesOptions, 'slices'> {
  frames: number;
}

/** A `2.25.<decimal>` UID (PS3.5 §B.2) derived from the parts: 128 bits of their SHA-256. */
export function derivedUid(...parts: Array<string | number>): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
}

/** mulberry32: a tiny seeded PRNG, so phantom noise is identical on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Phantoms are painted: ellipses in normalised coordinates (-1 … 1 across the image, y down), each filled row by
// row with TypedArray.fill, later ones over earlier ones; then noise is added in one pass. That keeps a 512×512
// slice at about a millisecond.

interface Ellipse {
  cu: number;
  cv: number;
  ru: number;
  rv: number;
  value: number;
}

type Pixels = Int16Array | Uint16Array | Uint8Array;

function paint(pixels: Pixels, rows: number, columns: number, shapes: readonly Ellipse[]): void {
  for (const { cu, cv, ru, rv, value } of shapes) {
    const yFirst = Math.max(0, Math.ceil(((cv - rv + 1) / 2) * rows - 0.5));
    const yLast = Math.min(rows - 1, Math.floor(((cv + rv + 1) / 2) * rows - 0.5));
    for (let y = yFirst; y <= yLast; y++) {
      const dv = (((y + 0.5) / rows) * 2 - 1 - cv) / rv;
      const half = ru * Math.sqrt(Math.max(0, 1 - dv * dv));
      const xFirst = Math.max(0, Math.ceil(((cu - half + 1) / 2) * columns - 0.5));
      const xLast = Math.min(columns - 1, Math.floor(((cu + half + 1) / 2) * columns - 0.5));
      if (xFirst <= xLast) pixels.fill(value, y * columns + xFirst, y * columns + xLast + 1);
    }
  }
}

const circle = (cu: number, cv: number, r: number, value: number): Ellipse => ({ cu, cv, ru: r, rv: r, value });

/** Scales an ellipse about its centre (for nested layers: fat, muscle, …). */
const layer = (e: Ellipse, scale: number, value: number): Ellipse => ({ ...e, ru: e.ru * scale, rv: e.rv * scale, value });

/** Roughly normal noise (sum of two uniforms), ±`amplitude`. */
function noiseTable(random: () => number, amplitude: number): Int16Array {
  const table = new Int16Array(65536);
  for (let i = 0; i < table.length; i++) table[i] = Math.round((random() + random() - 1) * amplitude);
  return table;
}

/**
 * Adds noise from `table` to each pixel, walking the table from a random start with a random odd stride, so each
 * image gets its own pattern without drawing random numbers per pixel. Pixels equal to `keep` stay as they are;
 * pixels equal to `floor` only get brighter (noise in air is never negative).
 */
function addNoise(pixels: Pixels, table: Int16Array, random: () => number, keep = Number.NaN, floor = Number.NaN): void {
  const offset = Math.floor(random() * 65536);
  const stride = 1 + 2 * Math.floor(random() * 1000);
  for (let i = 0; i < pixels.length; i++) {
    const value = pixels[i]!;
    if (value === keep) continue;
    const n = table[(offset + i * stride) & 0xffff]!;
    pixels[i] = value === floor ? value + Math.abs(n) : value + n;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Chest CT

const CT_PADDING = -2000;
const HU = (hu: number) => hu + 1024; // stored value for RescaleIntercept −1024, slope 1

/**
 * Axial chest CT, stored values (HU + 1024): −2000 padding outside the circular field of view (so the signed data
 * has negative values), air, a table, a body with fat, muscle and ribs, two lungs with vessels that grow towards
 * mid-chest, heart and aorta, sternum, and a vertebra with its canal. `position` runs 0 … 1 from apex to base.
 */
function ctShapes(position: number, random: () => number): Ellipse[] {
  const body: Ellipse = { cu: 0, cv: 0, ru: 0.8, rv: 0.62, value: HU(-100) };
  const lung = 0.55 + 0.45 * Math.sin(Math.PI * position);
  const lungs = [
    { cu: -0.36, cv: -0.02, ru: 0.27 * lung, rv: 0.4 * lung, value: HU(-850) },
    { cu: 0.36, cv: -0.02, ru: 0.25 * lung, rv: 0.4 * lung, value: HU(-850) },
  ];
  const ribs = Array.from({ length: 16 }, (_, k) => {
    const angle = ((k + 0.5) / 16) * 2 * Math.PI + position * 0.4;
    return { cu: 0.71 * Math.cos(angle), cv: 0.54 * Math.sin(angle), ru: 0.035, rv: 0.028, value: HU(750) };
  }).filter((rib) => rib.cv > -0.45); // none across the sternum
  const vessels = lungs.flatMap((l) =>
    Array.from({ length: 14 }, () => {
      const angle = random() * 2 * Math.PI;
      const radius = Math.sqrt(random()) * 0.85;
      return circle(l.cu + l.ru * radius * Math.cos(angle), l.cv + l.rv * radius * Math.sin(angle), 0.006 + random() * 0.01, HU(30));
    }),
  );
  return [
    circle(0, 0, 1, HU(-1000)),
    { cu: 0, cv: 0.745, ru: 0.7, rv: 0.025, value: HU(250) }, // table
    body,
    layer(body, 0.94, HU(45)), // muscle
    ...ribs,
    layer(body, 0.86, HU(40)), // mediastinum and soft tissue
    ...lungs,
    ...vessels,
    ...(position > 0.35 ? [{ cu: 0.1, cv: 0.02, ru: 0.22, rv: 0.18, value: HU(40) }] : []), // heart
    circle(0.06, 0.3, 0.06, HU(50)), // aorta
    { cu: 0, cv: -0.55, ru: 0.05, rv: 0.05, value: HU(500) }, // sternum
    circle(0, 0.46, 0.1, HU(950)), // vertebral cortex
    circle(0, 0.46, 0.075, HU(280)), // cancellous bone
    circle(0, 0.6, 0.04, HU(15)), // spinal canal
  ];
}

function ctSlice(rows: number, columns: number, position: number, noise: Int16Array, random: () => number): Int16Array {
  const pixels = new Int16Array(rows * columns).fill(CT_PADDING);
  paint(pixels, rows, columns, ctShapes(position, random));
  addNoise(pixels, noise, random, CT_PADDING);
  return pixels;
}

export function syntheticCtSeries(options: SeriesOptions): Uint8Array[] {
  const ids = seriesIds(options, 'CT');
  const random = prng(options.seed);
  const noise = noiseTable(random, 12);
  const thickness = 5;
  return Array.from({ length: options.slices }, (_, i) => {
    const position = options.slices > 1 ? i / (options.slices - 1) : 0.5;
    const pixels = ctSlice(options.rows, options.columns, position, noise, random);
    return writeP10(CT_IMAGE_STORAGE, derivedUid(ids.seriesInstanceUID, 'instance', i), {
      ...commonAttributes(options, ids, { modality: 'CT', bodyPart: 'CHEST', study: 'CT CHEST (SYNTHETIC)', series: 'AXIAL 5MM' }),
      ...sliceAttributes(options, i, thickness, 0.7, ['ORIGINAL', 'PRIMARY', 'AXIAL']),
      KVP: '120',
      ConvolutionKernel: 'STANDARD',
      ...imagePixel(options, { bitsAllocated: 16, bitsStored: 16, signed: true }),
      PixelPaddingValue: CT_PADDING,
      RescaleIntercept: '-1024',
      RescaleSlope: '1',
      RescaleType: 'HU',
      WindowCenter: ['40'],
      WindowWidth: ['400'],
      _vrMap: { PixelPaddingValue: 'SS' },
    }, { bytes: new Uint8Array(pixels.buffer), vr: 'OW' }, options.privateTag);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Head MR

/**
 * T1-like axial head, unsigned 12-bit: scalp fat, skull, CSF, grey and white matter, ventricles, and the eyes in
 * the lower slices. `position` runs 0 … 1 from the skull base to the vertex.
 */
function mrShapes(position: number): Ellipse[] {
  const size = 0.6 + 0.4 * Math.sin(Math.PI * (0.15 + 0.85 * position));
  const head: Ellipse = { cu: 0, cv: 0, ru: 0.74 * size, rv: 0.9 * size, value: 1100 };
  const ventricle = 0.5 + 0.5 * Math.sin(Math.PI * position);
  const eyes = position < 0.35 ? [circle(-0.28 * size, -0.6 * size, 0.13 * size, 180), circle(0.28 * size, -0.6 * size, 0.13 * size, 180)] : [];
  return [
    head, // scalp fat
    layer(head, 0.95, 90), // skull
    layer(head, 0.9, 320), // CSF
    layer(head, 0.86, 640), // grey matter
    layer(head, 0.74, 880), // white matter
    { cu: -0.1 * size, cv: -0.05 * size, ru: 0.06 * size * ventricle, rv: 0.24 * size * ventricle, value: 260 },
    { cu: 0.1 * size, cv: -0.05 * size, ru: 0.06 * size * ventricle, rv: 0.24 * size * ventricle, value: 260 },
    ...eyes,
  ];
}

function mrSlice(rows: number, columns: number, position: number, noise: Int16Array, random: () => number): Uint16Array {
  const pixels = new Uint16Array(rows * columns);
  paint(pixels, rows, columns, mrShapes(position));
  addNoise(pixels, noise, random, Number.NaN, 0);
  return pixels;
}

export function syntheticMrSeries(options: SeriesOptions): Uint8Array[] {
  const ids = seriesIds(options, 'MR');
  const random = prng(options.seed);
  const noise = noiseTable(random, 30);
  return Array.from({ length: options.slices }, (_, i) => {
    const position = options.slices > 1 ? i / (options.slices - 1) : 0.5;
    const pixels = mrSlice(options.rows, options.columns, position, noise, random);
    return writeP10(MR_IMAGE_STORAGE, derivedUid(ids.seriesInstanceUID, 'instance', i), {
      ...commonAttributes(options, ids, { modality: 'MR', bodyPart: 'HEAD', study: 'MR HEAD (SYNTHETIC)', series: 'T1 AXIAL' }),
      ...sliceAttributes(options, i, 4, 0.9, ['ORIGINAL', 'PRIMARY', 'M', 'ND']),
      ScanningSequence: ['SE'],
      SequenceVariant: ['NONE'],
      MagneticFieldStrength: '1.5',
      EchoTime: '15',
      RepetitionTime: '500',
      ...imagePixel(options, { bitsAllocated: 16, bitsStored: 12, signed: false }),
      WindowCenter: ['700'],
      WindowWidth: ['1400'],
    }, { bytes: new Uint8Array(pixels.buffer), vr: 'OW' }, options.privateTag);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// X-ray angiography cine

/**
 * 8-bit XA frame: a soft vignetted background and a vessel (a wavy trunk with one branch) that fills with
 * contrast from the top as `fill` goes from 0 to 1; opacified vessel is darker.
 */
function xaFrame(rows: number, columns: number, fill: number, noise: Int16Array, random: () => number): Uint8Array {
  const pixels = new Uint8Array(rows * columns);
  for (let y = 0; y < rows; y++) {
    const v = ((y + 0.5) / rows) * 2 - 1;
    for (let x = 0; x < columns; x++) {
      const u = ((x + 0.5) / columns) * 2 - 1;
      pixels[y * columns + x] = Math.round(170 + 40 * (1 - u * u) * (1 - 0.3 * v));
    }
  }
  const segment = (cu: number, cv: number): Ellipse => circle(cu, cv, 0.035, 0);
  const trunk = Array.from({ length: 200 }, (_, k) => -1 + (k / 199) * 2)
    .filter((v) => (v + 1) / 2 < fill)
    .map((v) => segment(0.25 * Math.sin(v * 2.2), v));
  const branch = Array.from({ length: 120 }, (_, k) => -0.2 + (k / 119) * 1.2)
    .filter((v) => (v + 1) / 2 < fill - 0.15)
    .map((v) => ({ ...segment(0.25 * Math.sin(v * 2.2) + (v + 0.2) * 0.6, v), ru: 0.022, rv: 0.022 }));
  const vessel = new Uint8Array(rows * columns);
  paint(vessel, rows, columns, [...trunk, ...branch].map((e) => ({ ...e, value: 1 })));
  for (let i = 0; i < pixels.length; i++) if (vessel[i]) pixels[i] = Math.round(pixels[i]! * 0.35);
  addNoise(pixels, noise, random);
  return pixels;
}

export function syntheticMultiframe(options: MultiframeOptions): Uint8Array {
  const ids = seriesIds(options, 'XA');
  const random = prng(options.seed);
  const noise = noiseTable(random, 6);
  const frameBytes = options.rows * options.columns;
  const pixels = new Uint8Array(frameBytes * options.frames);
  for (let f = 0; f < options.frames; f++) {
    pixels.set(xaFrame(options.rows, options.columns, (f + 1) / options.frames, noise, random), f * frameBytes);
  }
  return writeP10(XA_IMAGE_STORAGE, derivedUid(ids.seriesInstanceUID, 'instance', 0), {
    ...commonAttributes(options, ids, { modality: 'XA', bodyPart: 'HEART', study: 'XA CORONARY (SYNTHETIC)', series: 'CINE' }),
    ImageType: ['ORIGINAL', 'PRIMARY', 'SINGLE PLANE'],
    InstanceNumber: '1',
    NumberOfFrames: String(options.frames),
    FrameIncrementPointer: 0x00181063, // FrameTime
    FrameTime: '66.7',
    CineRate: '15',
    PositionerPrimaryAngle: '30',
    PositionerSecondaryAngle: '20',
    ...imagePixel(options, { bitsAllocated: 8, bitsStored: 8, signed: false }),
  }, { bytes: pixels, vr: 'OB' }, options.privateTag);
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes and writing

interface SeriesIds {
  studyInstanceUID: string;
  seriesInstanceUID: string;
}

function seriesIds(options: Omit<SeriesOptions, 'slices'>, modality: string): SeriesIds {
  const studyInstanceUID = options.studyInstanceUID ?? derivedUid('study', options.seed, options.patientId);
  return { studyInstanceUID, seriesInstanceUID: options.seriesInstanceUID ?? derivedUid('series', modality, options.seed, studyInstanceUID) };
}

interface Labels {
  modality: string;
  bodyPart: string;
  study: string;
  series: string;
}

function commonAttributes(options: Omit<SeriesOptions, 'slices'>, ids: SeriesIds, labels: Labels): Record<string, unknown> {
  const studyDate = options.studyDate ?? '20240115';
  return {
    SpecificCharacterSet: 'ISO_IR 100',
    PatientName: options.patientName,
    PatientID: options.patientId,
    PatientBirthDate: '19700101',
    PatientSex: 'O',
    PatientIdentityRemoved: 'YES',
    StudyInstanceUID: ids.studyInstanceUID,
    StudyDate: studyDate,
    StudyTime: '093000',
    AccessionNumber: options.accessionNumber ?? `DEMO${String(options.seed).padStart(6, '0')}`,
    StudyID: String(options.seed),
    StudyDescription: options.studyDescription ?? labels.study,
    ReferringPhysicianName: 'DEMO^REFERRER',
    Modality: labels.modality,
    SeriesInstanceUID: ids.seriesInstanceUID,
    SeriesNumber: String(options.seriesNumber ?? 1),
    SeriesDate: studyDate,
    SeriesTime: '093100',
    SeriesDescription: options.seriesDescription ?? labels.series,
    BodyPartExamined: labels.bodyPart,
    PatientPosition: 'HFS',
    Manufacturer: 'healthimaging-mcp',
    ManufacturerModelName: 'SYNTHETIC PHANTOM',
    InstitutionName: 'DEMO IMAGING CENTRE',
    SoftwareVersions: ['1'],
    FrameOfReferenceUID: derivedUid('frame-of-reference', ids.seriesInstanceUID),
    PositionReferenceIndicator: '',
    ContentDate: studyDate,
    ContentTime: '093200',
  };
}

function sliceAttributes(options: SeriesOptions, index: number, thickness: number, spacing: number, imageType: string[]): Record<string, unknown> {
  const z = String(-index * thickness);
  const half = (options.columns * spacing) / 2;
  return {
    ImageType: imageType,
    InstanceNumber: String(index + 1),
    ImagePositionPatient: [String(-half), String(-(options.rows * spacing) / 2), z],
    ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
    SliceThickness: String(thickness),
    SliceLocation: z,
    PixelSpacing: [String(spacing), String(spacing)],
  };
}

function imagePixel(options: { rows: number; columns: number }, pixel: { bitsAllocated: number; bitsStored: number; signed: boolean }): Record<string, unknown> {
  return {
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: options.rows,
    Columns: options.columns,
    BitsAllocated: pixel.bitsAllocated,
    BitsStored: pixel.bitsStored,
    HighBit: pixel.bitsStored - 1,
    PixelRepresentation: pixel.signed ? 1 : 0,
  };
}

interface PixelData {
  bytes: Uint8Array;
  vr: 'OB' | 'OW';
}

function writeP10(sopClassUID: string, sopInstanceUID: string, dataset: Record<string, unknown>, pixelData: PixelData, privateTag = false): Uint8Array {
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUID,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: TS.explicitLE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  });
  const file = new DicomDict(meta);
  file.dict = { ...DicomMetaDictionary.denaturalizeDataset({ SOPClassUID: sopClassUID, SOPInstanceUID: sopInstanceUID, ...dataset }), ...(privateTag ? privateElements() : {}) };
  return appendPixelData(new Uint8Array(file.write()), pixelData);
}

/**
 * dcmjs takes 5–10 ms to push 512 KB of pixel data through its write stream, more than the phantom itself.
 * PixelData (7FE0,0010) is the last element of these datasets, so it is appended here instead: its Explicit VR
 * Little Endian header (tag, VR, two reserved bytes, 32-bit length) and the bytes, padded to an even length.
 */
function appendPixelData(dataset: Uint8Array, { bytes, vr }: PixelData): Uint8Array {
  const length = bytes.length + (bytes.length % 2);
  const out = new Uint8Array(dataset.length + 12 + length);
  out.set(dataset);
  const header = new DataView(out.buffer, dataset.length, 12);
  header.setUint16(0, 0x7fe0, true);
  header.setUint16(2, 0x0010, true);
  header.setUint8(4, vr.charCodeAt(0));
  header.setUint8(5, vr.charCodeAt(1));
  header.setUint32(8, length, true);
  out.set(bytes, dataset.length + 12);
  return out;
}

/** Private elements are not in the keyword dictionary, so they are added in dcmjs's tag-keyed form. */
function privateElements(): DicomDataset {
  return {
    '00090010': { vr: 'LO', Value: [DEMO_PRIVATE_CREATOR] },
    '00091001': { vr: 'LO', Value: ['SYNTHETIC PHANTOM'] },
  };
}
