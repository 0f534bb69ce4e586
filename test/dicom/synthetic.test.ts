import { describe, expect, it } from 'vitest';
import { parseP10 } from '../../src/dicom/p10.js';
import { DEMO_PRIVATE_CREATOR, derivedUid, syntheticCtSeries, syntheticMrSeries, syntheticMultiframe } from '../../src/dicom/synthetic.js';
import { TS } from '../../src/dicom/types.js';

const ctOptions = { patientName: 'DEMO^CHEST^CT', patientId: 'DEMO-0001', slices: 3, rows: 64, columns: 48, seed: 11, privateTag: true };

describe('synthetic DICOM', () => {
  it('is deterministic: the same options give the same bytes, another seed other UIDs and pixels', () => {
    const a = syntheticCtSeries(ctOptions);
    const b = syntheticCtSeries(ctOptions);
    expect(a.map((f) => Buffer.from(f).toString('base64'))).toEqual(b.map((f) => Buffer.from(f).toString('base64')));
    const c = parseP10(syntheticCtSeries({ ...ctOptions, seed: 12 })[0]!);
    const first = parseP10(a[0]!);
    expect(c.studyInstanceUID).not.toBe(first.studyInstanceUID);
    expect(Buffer.from(c.frameData[0]!).equals(Buffer.from(first.frameData[0]!))).toBe(false);
    expect(derivedUid('x', 1)).toBe(derivedUid('x', 1));
  });

  it('writes a CT series of explicit VR little endian files with proper file meta', () => {
    const slices = syntheticCtSeries(ctOptions).map(parseP10);
    expect(slices).toHaveLength(3);
    const [first] = slices;
    expect(first!.transferSyntaxUID).toBe(TS.explicitLE);
    expect(first!.instance.DICOM).toMatchObject({
      TransferSyntaxUID: TS.explicitLE,
      MediaStorageSOPClassUID: first!.sopClassUID,
      MediaStorageSOPInstanceUID: first!.sopInstanceUID,
      FileMetaInformationVersion: 'AAE=',
      RescaleIntercept: '-1024 ',
      RescaleSlope: '1 ',
      WindowCenter: ['40'],
      WindowWidth: ['400 '],
    });
    expect(first!.instance.DICOM.FileMetaInformationGroupLength).toBeTypeOf('number');
    expect(first!.sopClassUID).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(first!.patient).toMatchObject({ PatientName: 'DEMO^CHEST^CT', PatientID: 'DEMO-0001 ' }); // padded to even length
    expect(first!.series).toMatchObject({ Modality: 'CT', PixelPaddingValue: -2000 });
    expect(first!.geometry).toMatchObject({ rows: 64, columns: 48, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1 });
    // One study and series, distinct instances, all UIDs under 2.25 and within 64 characters.
    expect(new Set(slices.map((s) => s.seriesInstanceUID)).size).toBe(1);
    expect(new Set(slices.map((s) => s.sopInstanceUID)).size).toBe(3);
    for (const uid of [first!.studyInstanceUID, first!.seriesInstanceUID, first!.sopInstanceUID, first!.series.FrameOfReferenceUID as string]) {
      expect(uid).toMatch(/^2\.25\.[1-9][0-9]*$/);
      expect(uid.length).toBeLessThanOrEqual(64);
    }
  });

  it('paints a recognisable phantom: padding outside the field of view, air, soft tissue, lungs and bone', () => {
    const parsed = parseP10(syntheticCtSeries({ ...ctOptions, rows: 128, columns: 128, slices: 1 })[0]!);
    const pixels = new Int16Array(parsed.frameData[0]!.slice().buffer);
    const hu = (x: number, y: number) => pixels[y * 128 + x]! - 1024;
    expect(pixels[0]).toBe(-2000); // corner, outside the circular field of view
    expect(hu(64, 4)).toBeLessThan(-900); // air above the body
    expect(hu(64, 64)).toBeGreaterThan(0); // mediastinum
    expect(hu(41, 64)).toBeLessThan(-700); // right lung
    expect(hu(64, 93)).toBeGreaterThan(150); // cancellous bone of the vertebra
    expect(hu(64, 98)).toBeGreaterThan(700); // its cortex
  });

  it('adds the demo private tag when asked', () => {
    const withTag = parseP10(syntheticCtSeries(ctOptions)[0]!);
    expect(withTag.instance.DICOM['00090010']).toBe(DEMO_PRIVATE_CREATOR);
    expect(withTag.instance.DICOM['00091001']).toBe('SYNTHETIC PHANTOM ');
    expect(withTag.instance.DICOMVRs).toEqual({ '00090010': 'LO', '00091001': 'LO' });
    const without = parseP10(syntheticCtSeries({ ...ctOptions, privateTag: false })[0]!);
    expect(without.instance.DICOM).not.toHaveProperty('00090010');
  });

  it('honours given study and series UIDs and labels', () => {
    const parsed = parseP10(
      syntheticCtSeries({ ...ctOptions, slices: 1, studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', studyDate: '20230405', accessionNumber: 'ACC1', seriesNumber: 7 })[0]!,
    );
    expect(parsed).toMatchObject({ studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4' });
    expect(parsed.study).toMatchObject({ StudyDate: '20230405', AccessionNumber: 'ACC1' });
    expect(parsed.series.SeriesNumber).toBe('7 ');
  });

  it('writes an unsigned 12-bit MR head series', () => {
    const slices = syntheticMrSeries({ patientName: 'DEMO^HEAD^MR', patientId: 'DEMO-0002', slices: 2, rows: 64, columns: 64, seed: 2 }).map(parseP10);
    expect(slices[0]!.sopClassUID).toBe('1.2.840.10008.5.1.4.1.1.4');
    expect(slices[0]!.series.Modality).toBe('MR');
    expect(slices[0]!.geometry).toMatchObject({ bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0 });
    const pixels = new Uint16Array(slices[0]!.frameData[0]!.slice().buffer);
    expect(Math.max(...pixels)).toBeLessThan(4096);
    expect(pixels[32 * 64 + 32]).toBeGreaterThan(500); // brain
  });

  it('writes one multi-frame XA instance whose frames differ (contrast filling the vessel)', () => {
    const parsed = parseP10(syntheticMultiframe({ patientName: 'DEMO^CINE^XA', patientId: 'DEMO-0003', frames: 4, rows: 64, columns: 64, seed: 3 }));
    expect(parsed.sopClassUID).toBe('1.2.840.10008.5.1.4.1.1.12.1');
    expect(parsed.geometry).toMatchObject({ numberOfFrames: 4, bitsAllocated: 8, samplesPerPixel: 1 });
    expect(parsed.instance.DICOM).toMatchObject({ NumberOfFrames: '4 ', FrameIncrementPointer: ['00181063'] });
    expect(parsed.frameData).toHaveLength(4);
    const darkPixels = (frame: Uint8Array) => frame.filter((v) => v < 100).length;
    const dark = parsed.frameData.map(darkPixels);
    expect(dark[0]).toBeLessThan(dark[3]!);
  });
});
