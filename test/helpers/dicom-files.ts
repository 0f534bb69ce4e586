/** Puts DICOM files where an import job of the local service reads them (`<dataDir>/s3/<bucket>/<key>`). */
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';

export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export function s3Path(dataDir: string, uri: string): string {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3 URI: ${uri}`);
  return path.join(dataDir, 's3', m[1]!, m[2]!);
}

export async function putFiles(dataDir: string, uri: string, files: Record<string, Uint8Array>): Promise<void> {
  const dir = s3Path(dataDir, uri);
  await fs.mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), bytes);
  }
}

/** A small synthetic CT series as files named 0001.dcm, 0002.dcm, … */
export function ctSeriesFiles(options: { slices?: number; size?: number; seed?: number; patientId?: string; patientName?: string; studyInstanceUID?: string; seriesInstanceUID?: string } = {}): Record<string, Uint8Array> {
  const slices = syntheticCtSeries({
    patientName: options.patientName ?? 'TEST^SERIES',
    patientId: options.patientId ?? 'TEST-1',
    slices: options.slices ?? 3,
    rows: options.size ?? 64,
    columns: options.size ?? 64,
    seed: options.seed ?? 7,
    ...(options.studyInstanceUID && { studyInstanceUID: options.studyInstanceUID }),
    ...(options.seriesInstanceUID && { seriesInstanceUID: options.seriesInstanceUID }),
  });
  return Object.fromEntries(slices.map((bytes, i) => [`${String(i + 1).padStart(4, '0')}.dcm`, bytes]));
}

interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer): { meta: Record<string, unknown>; dict: Record<string, unknown> } };
  DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown>; denaturalizeDataset(ds: Record<string, unknown>): Record<string, unknown> };
  DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
}
const dcmjsData = (createRequire(import.meta.url)('dcmjs') as { data: DcmjsData }).data;

/**
 * A copy of a P10 file with some attributes changed (keyword → value, dcmjs naturalized form). Private elements, which
 * dcmjs cannot name, are kept as they are; `elements` adds or replaces elements by tag (`{ "00091001": { vr, Value } }`).
 */
export function withAttributes(p10: Uint8Array, attributes: Record<string, unknown>, elements: Record<string, { vr: string; Value: unknown[] }> = {}): Uint8Array {
  const buffer = p10.buffer.slice(p10.byteOffset, p10.byteOffset + p10.byteLength) as ArrayBuffer;
  const file = dcmjsData.DicomMessage.readFile(buffer);
  const dataset = { ...dcmjsData.DicomMetaDictionary.naturalizeDataset(file.dict), ...attributes };
  const privateElements = Object.fromEntries(Object.entries(file.dict).filter(([tag]) => Number.parseInt(tag.slice(0, 4), 16) % 2 === 1));
  const out = new dcmjsData.DicomDict(file.meta);
  out.dict = { ...dcmjsData.DicomMetaDictionary.denaturalizeDataset(dataset), ...privateElements, ...elements };
  return new Uint8Array(out.write());
}

/** Reads keyword values of a P10 file. */
export function attributesOf(p10: Uint8Array): Record<string, unknown> {
  const buffer = p10.buffer.slice(p10.byteOffset, p10.byteOffset + p10.byteLength) as ArrayBuffer;
  return dcmjsData.DicomMetaDictionary.naturalizeDataset(dcmjsData.DicomMessage.readFile(buffer).dict);
}
