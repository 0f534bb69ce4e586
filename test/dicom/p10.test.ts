import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, decompositionsFor, encodeHtj2kLosslessRpcl } from '../../src/dicom/codecs.js';
import { crc32 } from '../../src/dicom/crc32.js';
import { prepareFrames } from '../../src/dicom/frames.js';
import { levelOf } from '../../src/dicom/levels.js';
import { DicomParseError, parseP10 } from '../../src/dicom/p10.js';
import { syntheticCtSeries, syntheticMrSeries, syntheticMultiframe } from '../../src/dicom/synthetic.js';
import { PYDICOM_FILES } from '../helpers/dicom-files.js';

const sample = (name: string) => new Uint8Array(readFileSync(path.join(PYDICOM_FILES, name)));
const haveSamples = existsSync(path.join(PYDICOM_FILES, 'CT_small.dcm'));
if (!haveSamples) console.warn('[skip] pydicom sample files are not installed (apt package python3-pydicom)');

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

describe('levels', () => {
  it('places attributes at the level HealthImaging documents them', () => {
    expect(levelOf('PatientName')).toBe('Patient');
    expect(levelOf('StudyDescription')).toBe('Study');
    expect(levelOf('PatientAge')).toBe('Study');
    expect(levelOf('Modality')).toBe('Series');
    expect(levelOf('Manufacturer')).toBe('Series');
    expect(levelOf('FrameOfReferenceUID')).toBe('Series');
    expect(levelOf('SOPInstanceUID')).toBe('Instance');
    expect(levelOf('Rows')).toBe('Instance');
  });
});

describe.skipIf(!haveSamples)('parseP10', () => {
  it('splits CT_small into levels and encodes values as the metadata document does', () => {
    const p = parseP10(sample('CT_small.dcm'));
    expect(p.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(p.patient.PatientName).toBe('CompressedSamples^CT1');
    expect(p.patient.PatientBirthDate).toBeNull();
    expect(Array.isArray(p.patient.OtherPatientIDsSequence)).toBe(true);
    expect((p.patient.OtherPatientIDsSequence as Array<Record<string, unknown>>)[0]).toMatchObject({ PatientID: 'ABCD1234' });
    expect(p.series.Modality).toBe('CT');
    expect(p.series.SoftwareVersions).toEqual(['05']);
    expect(p.instance.DICOM.ImageType).toEqual(['ORIGINAL', 'PRIMARY', 'AXIAL']);
    expect(p.instance.DICOM.Rows).toBe(128);
    expect(p.instance.DICOM.PixelSpacing).toEqual(['0.661468', '0.661468']);
    expect(p.instance.DICOM.FileMetaInformationVersion).toBe('AAE=');
    expect(p.instance.DICOM).not.toHaveProperty('PixelData');
    // Private tags: 8-hex key, VR in DICOMVRs, instance level.
    expect(p.instance.DICOM['00091001']).toBe('GE_GENESIS_FF ');
    expect(p.instance.DICOMVRs['00091001']).toBe('LO');
    expect(p.frameData).toHaveLength(1);
    expect(p.frameData[0]!.length).toBe(128 * 128 * 2);
  });

  it('reads multi-frame native and encapsulated data frame by frame', () => {
    expect(parseP10(sample('rtdose.dcm')).frameData).toHaveLength(15);
    expect(parseP10(sample('SC_rgb_rle_2frame.dcm')).frameData).toHaveLength(2);
    const sr = parseP10(sample('test-SR.dcm'));
    expect(sr.frameData).toEqual([]);
    expect(sr.geometry).toBeUndefined();
  });

  it('refuses what is not an importable DICOM instance, saying why', () => {
    const ct = sample('CT_small.dcm');
    expect(() => parseP10(new TextEncoder().encode('hello'))).toThrow(DicomParseError);
    expect(() => parseP10(new TextEncoder().encode('hello'))).toThrow(/DICM/);
    expect(() => parseP10(ct.subarray(0, 400))).toThrow(DicomParseError);
    expect(() => parseP10(ct.subarray(0, ct.length - 5000))).toThrow(/truncated/);
    expect(() => parseP10(sample('no_meta.dcm'))).toThrow(/DICM/);
  });

  it('decodes every encoding of MR_small to the same pixels', async () => {
    const reference = parseP10(sample('MR_small.dcm'));
    for (const name of ['MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_jpeg_ls_lossless.dcm']) {
      const p = parseP10(sample(name));
      const decoded = await decodeFrame(p.frameData[0]!, p.transferSyntaxUID, p.geometry!);
      expect(Buffer.compare(Buffer.from(decoded.pixels), Buffer.from(reference.frameData[0]!)), name).toBe(0);
    }
  });

  it('keeps lossy syntaxes as received, without a pixel range', async () => {
    const p = parseP10(sample('SC_rgb_jpeg_dcmtk.dcm'));
    const prepared = await prepareFrames(p, { losslessFormat: 'HTJ2K' });
    expect(prepared.storedTransferSyntaxUID).toBe('1.2.840.10008.1.2.4.50');
    expect(Buffer.compare(Buffer.from(prepared.frames[0]!.bytes), Buffer.from(p.frameData[0]!))).toBe(0);
    expect(prepared.frames[0]).toMatchObject({ min: null, max: null });
  });
});

describe('HTJ2K', () => {
  it('round-trips 8-bit, signed and unsigned 16-bit and RGB frames bit-exactly, as RPCL codestreams with TLM markers', async () => {
    const make = (bitsAllocated: number, signed: boolean, samplesPerPixel: number) => {
      const width = 300;
      const height = 200;
      const pixels = new Uint8Array(width * height * samplesPerPixel * (bitsAllocated / 8));
      for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + (i >> 7)) & 0xff;
      return { width, height, samplesPerPixel, bitsAllocated, signed, pixels };
    };
    for (const frame of [make(8, false, 1), make(16, true, 1), make(16, false, 1), make(8, false, 3)]) {
      const codestream = await encodeHtj2kLosslessRpcl(frame);
      expect([...codestream.subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);
      expect(Buffer.from(codestream).includes(Buffer.from([0xff, 0x55]))).toBe(true);
      const geometry = { rows: frame.height, columns: frame.width, samplesPerPixel: frame.samplesPerPixel, bitsAllocated: frame.bitsAllocated, bitsStored: frame.bitsAllocated, pixelRepresentation: frame.signed ? 1 : 0, photometricInterpretation: frame.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2', planarConfiguration: 0, numberOfFrames: 1 } as const;
      const back = await decodeFrame(codestream, '1.2.840.10008.1.2.4.202', geometry);
      expect(crc32(back.pixels)).toBe(crc32(frame.pixels));
    }
  });

  it('chooses decompositions so that the lowest resolution is at most 64 pixels', () => {
    expect(decompositionsFor(64, 64)).toBe(0);
    expect(decompositionsFor(512, 512)).toBe(3);
    expect(decompositionsFor(2048, 1024)).toBe(5);
  });
});

describe('synthetic DICOM', () => {
  it('is deterministic, parses, and carries the requested private tag', () => {
    const a = syntheticCtSeries({ patientName: 'DEMO^A', patientId: 'DEMO-1', slices: 2, rows: 64, columns: 64, seed: 5, privateTag: true });
    const b = syntheticCtSeries({ patientName: 'DEMO^A', patientId: 'DEMO-1', slices: 2, rows: 64, columns: 64, seed: 5, privateTag: true });
    expect(Buffer.compare(Buffer.from(a[1]!), Buffer.from(b[1]!))).toBe(0);
    const p = parseP10(a[0]!);
    expect(p.instance.DICOMVRs).toMatchObject({ '00090010': 'LO', '00091001': 'LO' });
    expect(p.series.Modality).toBe('CT');
    const mr = parseP10(syntheticMrSeries({ patientName: 'DEMO^B', patientId: 'DEMO-2', slices: 1, rows: 32, columns: 32, seed: 6 })[0]!);
    expect(mr.geometry).toMatchObject({ bitsStored: 12, pixelRepresentation: 0 });
    const xa = parseP10(syntheticMultiframe({ patientName: 'DEMO^C', patientId: 'DEMO-3', frames: 3, rows: 32, columns: 32, seed: 7 }));
    expect(xa.frameData).toHaveLength(3);
  });
});
