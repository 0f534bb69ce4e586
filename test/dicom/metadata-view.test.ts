/** The pure parts of the metadata views: attribute names, cells, and fitting rows into a budget. */
import { describe, expect, it } from 'vitest';
import { attributeKey, cell, defaultLevel, fitChunks, MAX_VALUE_CHARS } from '../../src/dicom/metadata-view.js';

describe('attributeKey', () => {
  it('accepts keywords and tags in the usual spellings, and refuses anything else', () => {
    expect(attributeKey('PatientName')).toBe('PatientName');
    expect(attributeKey('00100010')).toBe('PatientName');
    expect(attributeKey('(0010,0010)')).toBe('PatientName');
    expect(attributeKey('0020,0013')).toBe('InstanceNumber');
    expect(attributeKey('00091001')).toBe('00091001');
    expect(attributeKey('0029105a')).toBe('0029105A');
    expect(() => attributeKey('PatientNmae')).toThrow(/neither a DICOM keyword/);
  });

  it('defaults the level to the deepest among the attributes', () => {
    expect(defaultLevel(['PatientName'])).toBe('patient');
    expect(defaultLevel(['PatientName', 'StudyDate'])).toBe('study');
    expect(defaultLevel(['Modality', 'PatientID'])).toBe('series');
    expect(defaultLevel(['PatientName', '00091001'])).toBe('instance');
  });
});

describe('cell', () => {
  it('shows multi-values, sequences, empties and long values compactly', () => {
    expect(cell(['1', '0 '])).toBe('1\\0');
    expect(cell([{ A: 1 }, { A: 2 }])).toBe('[sequence, 2 item(s)]');
    expect(cell(null)).toBe('(empty)');
    expect(cell('a\nb')).toBe('a b');
    const long = cell('x'.repeat(MAX_VALUE_CHARS + 50));
    expect(long).toBe(`${'x'.repeat(MAX_VALUE_CHARS)}… (${MAX_VALUE_CHARS + 50} chars)`);
  });
});

describe('fitChunks', () => {
  it('takes whole chunks while they fit, and cuts only a first chunk that alone is too big', () => {
    const chunks = [['aaaa'], ['bbbb'], ['cccc']];
    expect(fitChunks(chunks, 10)).toEqual({ lines: ['aaaa', 'bbbb'], taken: 2, cutInside: false });
    expect(fitChunks(chunks, 100)).toEqual({ lines: ['aaaa', 'bbbb', 'cccc'], taken: 3, cutInside: false });
    expect(fitChunks([['head', 'line-1', 'line-2']], 13)).toEqual({ lines: ['head', 'line-1'], taken: 1, cutInside: true });
    expect(fitChunks([], 10)).toEqual({ lines: [], taken: 0, cutInside: false });
  });
});

describe('summarizeMetadata', () => {
  it('lists a page of instances from an offset and at most maxSeries series, counting them all', async () => {
    const { summarizeMetadata, formatSummary } = await import('../../src/dicom/summary.js');
    const instance = (n: number) => ({ DICOM: { InstanceNumber: String(n) }, DICOMVRs: {}, StoredTransferSyntaxUID: '1.2.840.10008.1.2.4.202', ImageFrames: [{ ID: `f${n}`, PixelDataChecksumFromBaseToFullResolution: [], MinPixelValue: 0, MaxPixelValue: 1, FrameSizeInBytes: 1 }] });
    const series = Object.fromEntries(Array.from({ length: 25 }, (_, s) => [`1.2.${s}`, { DICOM: { Modality: 'CT' }, Instances: Object.fromEntries([1, 2].map((n) => [`1.2.${s}.${n}`, instance(n)])) }]));
    const doc = { SchemaVersion: '1.1', DatastoreID: 'd', ImageSetID: 'i', Patient: { DICOM: {} }, Study: { DICOM: {}, Series: series } };
    const summary = summarizeMetadata(doc, { maxInstances: 3, offset: 4, maxSeries: 20 });
    expect(summary.series).toHaveLength(20);
    expect(summary.series_count).toBe(25);
    expect(summary.instance_count).toBe(50);
    expect(summary.instances.map((i) => i.sop_instance_uid)).toEqual(['1.2.2.1', '1.2.2.2', '1.2.3.1']);
    const text = formatSummary(summary);
    expect(text).toContain('… and 5 more series');
    expect(text).toContain('Instances 5–7 of 50');
  });

  it('reads only strings and numbers as values: an object where text is expected counts as absent, not as an error', async () => {
    const { summarizeMetadata } = await import('../../src/dicom/summary.js');
    const odd = { toString: 0 };
    const instance = { DICOM: { InstanceNumber: [odd], Rows: odd, Columns: '512' }, DICOMVRs: {}, StoredTransferSyntaxUID: '1.2.840.10008.1.2.4.202', ImageFrames: [] };
    const doc = {
      SchemaVersion: '1.1',
      DatastoreID: 'd',
      ImageSetID: 'i',
      Patient: { DICOM: { PatientName: odd, PatientID: ['P1'] } },
      Study: { DICOM: { StudyDescription: [{ CodeValue: '1' }] }, Series: { '1.2': { DICOM: { Modality: odd }, Instances: { '1.2.1': instance } } } },
    };
    const summary = summarizeMetadata(doc as never, { maxInstances: 5 });
    expect(summary.instances).toEqual([expect.objectContaining({ sop_instance_uid: '1.2.1', columns: 512 })]);
    expect(summary.instances[0]!.rows).toBeUndefined();
    expect(summary.instances[0]!.instance_number).toBeUndefined();
  });
});
