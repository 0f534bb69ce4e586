/**
 * Deterministic synthetic DICOM for the demo data and the tests: obviously fictional patients, recognisable
 * phantoms, UIDs derived from a seed (so runs are reproducible), Explicit VR Little Endian P10 files.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

interface DcmjsWriter {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as DcmjsWriter;

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const MR_IMAGE = '1.2.840.10008.5.1.4.1.1.4';
const XA_IMAGE = '1.2.840.10008.5.1.4.1.1.12.1';
export const DEMO_PRIVATE_CREATOR = 'HEALTHIMAGING_MCP_DEMO';

/** A `2.25.<decimal>` UID derived from the parts (PS3.5 §B.2: UUID-derived UIDs). */
export function derivedUid(...parts: Array<string | number>): string {
  const hex = createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
}

/** Small seeded PRNG (mulberry32), so phantoms are identical on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeriesOptions {
  patientName: string;
  patientId: string;
  slices: number;
  rows: number;
  columns: number;
  seed: number;
  studyInstanceUID?: string;
  seriesInstanceUID?: string;
  studyDate?: string;
  accessionNumber?: string;
  /** Adds the private creator (0009,0010) and element (0009,1001). */
  privateTag?: boolean;
}

function p10(dataset: Record<string, unknown>, sopClassUID: string, sopInstanceUID: string, privateTag: boolean): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUID,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: '2.25.97013254163519838547652381102155930301',
    ImplementationVersionName: 'HIMCP_SYNTH',
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  const body = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ ...dataset, SOPClassUID: sopClassUID, SOPInstanceUID: sopInstanceUID });
  if (privateTag) {
    body['00090010'] = { vr: 'LO', Value: [DEMO_PRIVATE_CREATOR] };
    body['00091001'] = { vr: 'LO', Value: ['SYNTHETIC PHANTOM'] };
  }
  dict.dict = body;
  return new Uint8Array(dict.write());
}

function commonAttributes(o: SeriesOptions, modality: string, label: string) {
  const studyInstanceUID = o.studyInstanceUID ?? derivedUid('study', label, o.seed, o.patientId);
  return {
    studyInstanceUID,
    seriesInstanceUID: o.seriesInstanceUID ?? derivedUid('series', label, o.seed, studyInstanceUID),
    attributes: {
      SpecificCharacterSet: 'ISO_IR 100',
      PatientName: o.patientName,
      PatientID: o.patientId,
      PatientBirthDate: '19700101',
      PatientSex: 'O',
      StudyDate: o.studyDate ?? '20240102',
      StudyTime: '093000',
      AccessionNumber: o.accessionNumber ?? `ACC${String(o.seed).padStart(5, '0')}`,
      StudyID: `S${o.seed}`,
      StudyDescription: `SYNTHETIC ${modality} ${label.toUpperCase()}`,
      ReferringPhysicianName: 'DEMO^REFERRER',
      Modality: modality,
      SeriesNumber: String(o.seed % 1000),
      SeriesDescription: `Synthetic ${label}`,
      Manufacturer: 'healthimaging-mcp',
      InstitutionName: 'Synthetic Imaging Center',
      BodyPartExamined: label === 'chest' ? 'CHEST' : label === 'head' ? 'HEAD' : 'HEART',
      FrameOfReferenceUID: derivedUid('for', label, o.seed),
    },
  };
}

/** Axial chest CT slices: body, lungs, spine and a rib ring, in Hounsfield units + 1024 (RescaleIntercept −1024). */
export function syntheticCtSeries(o: SeriesOptions): Uint8Array[] {
  const { studyInstanceUID, seriesInstanceUID, attributes } = commonAttributes(o, 'CT', 'chest');
  const files: Uint8Array[] = [];
  const rnd = random(o.seed);
  const { rows, columns } = o;
  for (let z = 0; z < o.slices; z++) {
    const pixels = new Int16Array(rows * columns);
    const phase = o.slices > 1 ? z / (o.slices - 1) : 0.5;
    const lungScale = 0.6 + 0.4 * Math.sin(Math.PI * phase);
    for (let y = 0; y < rows; y++) {
      const v = (y - rows / 2) / (rows / 2);
      for (let x = 0; x < columns; x++) {
        const u = (x - columns / 2) / (columns / 2);
        let hu = -1000;
        if ((u / 0.85) ** 2 + (v / 0.65) ** 2 <= 1) hu = 40 + Math.round((rnd() - 0.5) * 20);
        const lung = (cx: number) => ((u - cx) / (0.28 * lungScale)) ** 2 + ((v + 0.05) / (0.42 * lungScale)) ** 2 <= 1;
        if (lung(-0.38) || lung(0.38)) hu = -850 + Math.round((rnd() - 0.5) * 40);
        if (u ** 2 + (v - 0.42) ** 2 <= 0.012) hu = 700;
        const r = Math.sqrt((u / 0.8) ** 2 + (v / 0.6) ** 2);
        if (r > 0.9 && r < 0.95 && Math.sin(Math.atan2(v, u) * 12) > 0.3) hu = 900;
        pixels[y * columns + x] = hu + 1024;
      }
    }
    const sop = derivedUid('ct-instance', seriesInstanceUID, z);
    files.push(
      p10(
        {
          ...attributes,
          StudyInstanceUID: studyInstanceUID,
          SeriesInstanceUID: seriesInstanceUID,
          ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
          InstanceNumber: String(z + 1),
          ImagePositionPatient: ['0', '0', String(-z * 5)],
          ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
          SliceThickness: '5',
          PixelSpacing: ['0.7', '0.7'],
          SamplesPerPixel: 1,
          PhotometricInterpretation: 'MONOCHROME2',
          Rows: rows,
          Columns: columns,
          BitsAllocated: 16,
          BitsStored: 16,
          HighBit: 15,
          PixelRepresentation: 1,
          RescaleIntercept: '-1024',
          RescaleSlope: '1',
          RescaleType: 'HU',
          WindowCenter: ['40'],
          WindowWidth: ['400'],
          KVP: '120',
          PixelData: [pixels.buffer],
          _vrMap: { PixelData: 'OW' },
        },
        CT_IMAGE,
        sop,
        o.privateTag === true,
      ),
    );
  }
  return files;
}

/** Axial head MR slices: skull, brain, ventricles; unsigned 16-bit. */
export function syntheticMrSeries(o: SeriesOptions): Uint8Array[] {
  const { studyInstanceUID, seriesInstanceUID, attributes } = commonAttributes(o, 'MR', 'head');
  const files: Uint8Array[] = [];
  const rnd = random(o.seed);
  const { rows, columns } = o;
  for (let z = 0; z < o.slices; z++) {
    const pixels = new Uint16Array(rows * columns);
    const size = 0.75 + 0.2 * Math.sin((Math.PI * (z + 1)) / (o.slices + 1));
    for (let y = 0; y < rows; y++) {
      const v = (y - rows / 2) / (rows / 2);
      for (let x = 0; x < columns; x++) {
        const u = (x - columns / 2) / (columns / 2);
        const r = Math.sqrt((u / (0.75 * size)) ** 2 + (v / (0.9 * size)) ** 2);
        let value = Math.round(rnd() * 15);
        if (r <= 1) value = 220 + Math.round(rnd() * 20);
        if (r <= 0.9) value = 600 + Math.round(rnd() * 60);
        if (((Math.abs(u) - 0.1) / 0.08) ** 2 + (v / 0.3) ** 2 <= 1 && r <= 0.9) value = 1500 + Math.round(rnd() * 80);
        pixels[y * columns + x] = value;
      }
    }
    files.push(
      p10(
        {
          ...attributes,
          StudyInstanceUID: studyInstanceUID,
          SeriesInstanceUID: seriesInstanceUID,
          ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'ND'],
          InstanceNumber: String(z + 1),
          ImagePositionPatient: ['0', '0', String(z * 4)],
          ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
          SliceThickness: '4',
          PixelSpacing: ['0.9', '0.9'],
          SamplesPerPixel: 1,
          PhotometricInterpretation: 'MONOCHROME2',
          Rows: rows,
          Columns: columns,
          BitsAllocated: 16,
          BitsStored: 12,
          HighBit: 11,
          PixelRepresentation: 0,
          WindowCenter: ['800'],
          WindowWidth: ['1600'],
          MagneticFieldStrength: '1.5',
          EchoTime: '20',
          RepetitionTime: '500',
          PixelData: [pixels.buffer],
          _vrMap: { PixelData: 'OW' },
        },
        MR_IMAGE,
        derivedUid('mr-instance', seriesInstanceUID, z),
        o.privateTag === true,
      ),
    );
  }
  return files;
}

export interface MultiframeOptions extends Omit<SeriesOptions, 'slices'> {
  frames: number;
}

/** One 8-bit X-ray angiography instance with several frames: a vessel whose contrast fills in over time. */
export function syntheticMultiframe(o: MultiframeOptions): Uint8Array {
  const { studyInstanceUID, seriesInstanceUID, attributes } = commonAttributes({ ...o, slices: 1 }, 'XA', 'cine');
  const { rows, columns } = o;
  const pixels = new Uint8Array(rows * columns * o.frames);
  const rnd = random(o.seed);
  for (let f = 0; f < o.frames; f++) {
    const fill = (f + 1) / o.frames;
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const centre = columns / 2 + Math.sin((y / rows) * Math.PI * 2) * columns * 0.15;
        const inVessel = Math.abs(x - centre) < columns * 0.04 && y / rows < fill;
        pixels[f * rows * columns + y * columns + x] = inVessel ? 40 : 170 + Math.round(rnd() * 30);
      }
    }
  }
  return p10(
    {
      ...attributes,
      StudyInstanceUID: studyInstanceUID,
      SeriesInstanceUID: seriesInstanceUID,
      ImageType: ['ORIGINAL', 'PRIMARY', 'SINGLE PLANE'],
      InstanceNumber: '1',
      NumberOfFrames: String(o.frames),
      FrameTime: '66.7',
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: rows,
      Columns: columns,
      BitsAllocated: 8,
      BitsStored: 8,
      HighBit: 7,
      PixelRepresentation: 0,
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OB' },
    },
    XA_IMAGE,
    derivedUid('xa-instance', seriesInstanceUID),
    o.privateTag === true,
  );
}
