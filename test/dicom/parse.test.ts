import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LEVEL_KEYWORDS, levelOf } from '../../src/dicom/levels.js';
import { DicomParseError, identifyP10, lookupAttribute, NeedWholeFile, parseP10 } from '../../src/dicom/p10.js';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { PYDICOM_FILES, withAttributes } from '../helpers/dicom-files.js';
import { haveSamples, sample } from './samples.js';

const ct = () => syntheticCtSeries({ patientName: 'DEMO^PARSE', patientId: 'DEMO-P', slices: 1, rows: 32, columns: 32, seed: 3 })[0]!;

describe('levels', () => {
  it('knows every keyword it places above the instance level', () => {
    for (const [level, keywords] of Object.entries(LEVEL_KEYWORDS)) {
      for (const keyword of keywords) {
        expect(lookupAttribute(keyword), keyword).toBeDefined();
        expect(levelOf(keyword)).toBe(level);
      }
    }
  });

  it('puts everything else, private and unknown tags included, at the instance level', () => {
    expect(levelOf('SOPInstanceUID')).toBe('Instance');
    expect(levelOf('TransferSyntaxUID')).toBe('Instance');
    expect(levelOf('00091001')).toBe('Instance');
    expect(levelOf('NotAKeyword')).toBe('Instance');
  });

  it('looks up the VR and VM of keywords and tags', () => {
    expect(lookupAttribute('ImageType')).toMatchObject({ tag: '(0008,0008)', vr: 'CS', vm: '2-n' });
    expect(lookupAttribute('00100010')).toMatchObject({ keyword: 'PatientName', vr: 'PN', vm: '1' });
    expect(lookupAttribute('NotAKeyword')).toBeUndefined();
  });
});

describe.skipIf(!haveSamples)('parseP10 on pydicom samples', () => {
  const parsed = haveSamples ? parseP10(sample('CT_small.dcm')) : undefined!;

  it('splits the attributes into the levels of the metadata document', () => {
    expect(parsed.patient).toMatchObject({ PatientName: 'CompressedSamples^CT1', PatientID: '1CT1' });
    expect(parsed.study).toMatchObject({ StudyInstanceUID: parsed.studyInstanceUID, StudyDate: '20040119', StudyID: '1CT1' });
    expect(parsed.series).toMatchObject({ Modality: 'CT', SeriesInstanceUID: parsed.seriesInstanceUID, Manufacturer: 'GE MEDICAL SYSTEMS', PixelPaddingValue: -2000 });
    expect(parsed.series.FrameOfReferenceUID).toBe('1.3.6.1.4.1.5962.1.4.1.1.20040119072730.12322');
    expect(parsed.instance.DICOM).toMatchObject({ SOPInstanceUID: parsed.sopInstanceUID, Rows: 128, TransferSyntaxUID: '1.2.840.10008.1.2.1' });
    for (const level of [parsed.patient, parsed.study, parsed.series]) expect(level).not.toHaveProperty('Rows');
    expect(parsed.patient).not.toHaveProperty('StudyDate');
  });

  it('keeps group 0002 at the instance level, with the group length dcmjs does not return', () => {
    expect(parsed.instance.DICOM).toMatchObject({
      FileMetaInformationGroupLength: 192,
      FileMetaInformationVersion: 'AAE=',
      MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      ImplementationClassUID: '1.3.6.1.4.1.5962.2',
    });
  });

  it('encodes values as HealthImaging does', () => {
    const { DICOM } = parsed.instance;
    expect(parsed.patient.PatientName).toBe('CompressedSamples^CT1'); // PN: a plain string
    expect(parsed.patient.PatientBirthDate).toBeNull(); // present but empty
    expect(DICOM.ImageType).toEqual(['ORIGINAL', 'PRIMARY', 'AXIAL']); // VM 2-n
    expect(parsed.series.SoftwareVersions).toEqual(['05']); // VM 1-n with one value: still an array
    expect(DICOM.PixelSpacing).toEqual(['0.661468', '0.661468']); // DS stays text
    expect(parsed.series.SeriesNumber).toBe('1 '); // padding kept, as HealthImaging does
    expect(DICOM.KVP).toBe('120 ');
    expect(DICOM.Rows).toBe(128); // US: a number, VM 1: a scalar
    expect(DICOM.SpecificCharacterSet).toEqual(['ISO_IR 100']); // as in the file, not dcmjs's UTF-8 rewrite
  });

  it('encodes sequences as arrays of objects keyed the same way', () => {
    expect(parsed.patient.OtherPatientIDsSequence).toEqual([
      { PatientID: 'ABCD1234', TypeOfPatientID: 'TEXT' },
      { PatientID: '1234ABCD', TypeOfPatientID: 'TEXT' },
    ]);
  });

  it('keys private attributes by 8-hex tag, records their VR, and keeps them at the instance level', () => {
    expect(parsed.instance.DICOM['00090010']).toBe('GEMS_IDEN_01');
    expect(parsed.instance.DICOM['00091001']).toBe('GE_GENESIS_FF ');
    expect(parsed.instance.DICOM['00091027']).toBe(862399669);
    expect(parsed.instance.DICOMVRs).toMatchObject({ '00090010': 'LO', '00091001': 'LO', '00091027': 'SL', '0019100F': 'DS' });
    expect(Object.keys(parsed.instance.DICOMVRs).every((key) => /^[0-9A-F]{8}$/.test(key))).toBe(true);
  });

  it('leaves pixel data out of the attributes and returns it as frames', () => {
    const all = { ...parsed.patient, ...parsed.study, ...parsed.series, ...parsed.instance.DICOM };
    expect(all).not.toHaveProperty('PixelData');
    expect(all).not.toHaveProperty('7FE00010');
    expect(parsed.geometry).toEqual({
      rows: 128, columns: 128, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1,
      photometricInterpretation: 'MONOCHROME2', planarConfiguration: 0, numberOfFrames: 1,
    });
    expect(parsed.frameData).toHaveLength(1);
    expect(parsed.frameData[0]!.length).toBe(128 * 128 * 2);
  });

  it('gives the same attributes and pixels for every encoding of MR_small', () => {
    const reference = parseP10(sample('MR_small.dcm'));
    for (const name of ['MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'MR_small_expb.dcm']) {
      const other = parseP10(sample(name));
      expect(other.patient, name).toEqual(reference.patient);
      expect(other.study, name).toEqual(reference.study);
      expect(other.series, name).toEqual(reference.series);
      expect(Buffer.from(other.frameData[0]!).equals(Buffer.from(reference.frameData[0]!)), `${name} pixels`).toBe(true);
    }
    expect(parseP10(sample('MR_small_bigendian.dcm')).instance.DICOM.TransferSyntaxUID).toBe('1.2.840.10008.1.2.2');
  });

  it('splits multi-frame pixel data into frames', () => {
    const dose = parseP10(sample('rtdose.dcm'));
    expect(dose.frameData).toHaveLength(15);
    expect(dose.frameData.every((f) => f.length === 10 * 10 * 4)).toBe(true);
    expect(parseP10(sample('rtdose_expb.dcm')).frameData.map((f) => Buffer.from(f).toString('hex'))).toEqual(dose.frameData.map((f) => Buffer.from(f).toString('hex')));
    const rle = parseP10(sample('SC_rgb_rle_2frame.dcm'));
    expect(rle.frameData).toHaveLength(2);
    expect(rle.geometry).toMatchObject({ samplesPerPixel: 3, numberOfFrames: 2, photometricInterpretation: 'RGB' });
  });

  it('reads deflated files and 1-bit segmentations', () => {
    const deflated = parseP10(sample('image_dfl.dcm'));
    expect(deflated.transferSyntaxUID).toBe('1.2.840.10008.1.2.1.99');
    expect(deflated.frameData[0]!.length).toBe(512 * 512);
    const seg = parseP10(sample('liver_1frame.dcm'));
    expect(seg.geometry).toMatchObject({ bitsAllocated: 1, rows: 512, columns: 512 });
    expect(seg.frameData[0]!.length).toBe((512 * 512) / 8);
    expect(Buffer.from(parseP10(sample('liver_expb_1frame.dcm')).frameData[0]!).equals(Buffer.from(seg.frameData[0]!))).toBe(true);
  });

  it('returns no geometry and no frames for an instance without pixel data', () => {
    const sr = parseP10(sample('test-SR.dcm'));
    expect(sr.geometry).toBeUndefined();
    expect(sr.frameData).toEqual([]);
    expect(sr.instance.DICOM.ContentSequence).toBeInstanceOf(Array);
  });

  it('reads data with several character sets (ISO 2022), decoding with the first', () => {
    expect(parseP10(sample('J2K_pixelrep_mismatch.dcm')).instance.DICOM.SpecificCharacterSet).toEqual(['ISO 2022 IR 13', 'ISO 2022 IR 87']);
  });
});

describe('parseP10 refuses what is not an importable instance, saying why', () => {
  const refusal = (bytes: Uint8Array): DicomParseError => {
    try {
      parseP10(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(DicomParseError);
      expect((err as Error).name).toBe('DicomParseError');
      return err as DicomParseError;
    }
    throw new Error('parseP10 accepted the input');
  };

  it('non-DICOM bytes', () => {
    expect(refusal(new TextEncoder().encode('hello, world')).message).toBe('not a DICOM P10 file (no DICM preamble)');
    expect(refusal(new Uint8Array(0)).message).toMatch(/no DICM preamble/);
    expect(refusal(new Uint8Array(4096)).message).toMatch(/no DICM preamble/);
  });

  it('files cut short anywhere, also inside the pixel data that dcmjs would zero-fill', () => {
    const file = ct();
    for (const length of [131, 132, 140, 200, 400, 700, file.length - 1000, file.length - 1]) {
      expect(refusal(file.subarray(0, length)).message, `cut at ${length}`).toMatch(/truncated|no DICM preamble/);
    }
  });

  it.skipIf(!haveSamples)('pydicom truncated and broken samples', () => {
    expect(refusal(sample('MR_truncated.dcm')).message).toMatch(/^truncated file: \(7FE0,0010\) declares 8192 bytes/);
    expect(refusal(sample('rtplan_truncated.dcm')).message).toMatch(/truncated/);
    expect(refusal(sample('no_meta.dcm')).message).toMatch(/no DICM preamble/);
    expect(refusal(sample('meta_missing_tsyntax.dcm')).message).toBe('DICOM attribute TransferSyntaxUID does not exist');
    // dcmjs misreads its UN-encoded sequence into a 775 MB value: refused rather than stored.
    expect(refusal(sample('rtdose_rle.dcm')).message).toMatch(/malformed DICOM file/);
  });

  it('a missing or empty identifying UID', () => {
    for (const keyword of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'SOPClassUID']) {
      expect(refusal(withAttributes(ct(), { [keyword]: undefined })).message).toBe(`DICOM attribute ${keyword} does not exist`);
      expect(refusal(withAttributes(ct(), { [keyword]: '' })).message).toBe(`DICOM attribute ${keyword} has no value`);
    }
  });

  it('pixel data shorter than its geometry says', () => {
    expect(refusal(withAttributes(ct(), { Rows: 64 })).message).toMatch(/PixelData holds 2048 bytes/);
  });
});

/** The error a parse throws, or undefined when it succeeds. */
function failureOf(parse: () => unknown): Error | undefined {
  try {
    parse();
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

describe('identifyP10 (store_dicom\'s check before sending) agrees with parseP10 on what it checks', () => {
  const identity = (bytes: Uint8Array) => {
    const { transferSyntaxUID, studyInstanceUID, seriesInstanceUID, sopInstanceUID, sopClassUID } = parseP10(bytes);
    return { transferSyntaxUID, studyInstanceUID, seriesInstanceUID, sopInstanceUID, sopClassUID };
  };

  it.skipIf(!haveSamples)('on every pydicom sample: the same UIDs, or the same refusal when the file is not P10, cut short or unnamed', () => {
    const names = readdirSync(PYDICOM_FILES).filter((name) => name.endsWith('.dcm'));
    expect(names.length).toBeGreaterThan(50);
    let compared = 0;
    for (const name of names) {
      const bytes = sample(name);
      const full = failureOf(() => identity(bytes));
      const light = failureOf(() => identifyP10(bytes));
      if (full === undefined) {
        expect(light, name).toBeUndefined();
        expect(identifyP10(bytes), name).toEqual(identity(bytes));
        compared++;
      } else if (/no DICM preamble|truncated|does not exist|has no value/.test(full.message)) {
        expect(light?.message, name).toBe(full.message);
      } else {
        // What only a full parse finds (dcmjs refusing a value, pixel data that does not fit): the receiver reports it.
        expect(full, name).toBeInstanceOf(DicomParseError);
      }
    }
    expect(compared).toBeGreaterThan(40);
  });

  it('refuses files cut short anywhere, and a missing or empty identifying UID, with parseP10\'s words', () => {
    const file = ct();
    for (const length of [0, 131, 132, 140, 200, 400, 700, file.length - 1000, file.length - 1]) {
      const cut = file.subarray(0, length);
      expect(failureOf(() => identifyP10(cut))?.message, `cut at ${length}`).toBe(failureOf(() => parseP10(cut))?.message);
    }
    for (const keyword of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'SOPClassUID']) {
      expect(() => identifyP10(withAttributes(ct(), { [keyword]: undefined }))).toThrow(`DICOM attribute ${keyword} does not exist`);
      expect(() => identifyP10(withAttributes(ct(), { [keyword]: '' }))).toThrow(`DICOM attribute ${keyword} has no value`);
    }
  });

  it('given only the first bytes of a file, answers as on the whole file or asks for it (NeedWholeFile)', () => {
    const files: Array<[string, Uint8Array]> = [['synthetic CT', ct()], ['CT with a sequence', withAttributes(ct(), { RequestAttributesSequence: [{ StudyInstanceUID: '1.2.3' }] })]];
    if (haveSamples) for (const name of readdirSync(PYDICOM_FILES).filter((n) => n.endsWith('.dcm'))) files.push([name, sample(name)]);
    // Cut copies too: a truncated file must never pass on its first bytes.
    for (const [name, bytes] of files.slice()) for (const at of [700, Math.floor(bytes.length / 2), bytes.length - 1]) if (at > 132 && at < bytes.length) files.push([`${name} cut at ${at}`, bytes.subarray(0, at)]);
    let decided = 0;
    let deferred = 0;
    for (const [name, bytes] of files) {
      const whole = failureOf(() => identifyP10(bytes)) ?? identifyP10(bytes);
      for (const length of [132, 140, 300, 1024, 4096, 65_536, bytes.length - 1]) {
        if (length < 132 || length >= bytes.length) continue;
        const onHead = failureOf(() => identifyP10(bytes.subarray(0, length), bytes.length)) ?? identifyP10(bytes.subarray(0, length), bytes.length);
        if (onHead instanceof NeedWholeFile) {
          deferred++;
          continue;
        }
        decided++;
        if (whole instanceof Error) expect((onHead as Error).message, `${name}, first ${length} bytes`).toBe(whole.message);
        else expect(onHead, `${name}, first ${length} bytes`).toEqual(whole);
      }
    }
    expect(decided).toBeGreaterThan(20);
    expect(deferred).toBeGreaterThan(20);
  });

  it('decides a typical file (native pixel data last) on its first 64 KB', () => {
    const file = syntheticCtSeries({ patientName: 'DEMO^HEAD', patientId: 'DEMO-H', slices: 1, rows: 512, columns: 512, seed: 5 })[0]!;
    expect(file.length).toBeGreaterThan(500_000);
    expect(identifyP10(file.subarray(0, 65_536), file.length)).toEqual(identifyP10(file));
    // One byte missing at the end: the pixel data would be cut short, which the first bytes and the length show.
    expect(() => identifyP10(file.subarray(0, 65_536), file.length - 1)).toThrow(/truncated file: \(7FE0,0010\) declares/);
  });

  it('reads the UIDs of the top-level dataset only, not those inside sequences', () => {
    // An item naming another instance with the same tags (as a request attributes item may).
    const file = withAttributes(ct(), { RequestAttributesSequence: [{ StudyInstanceUID: '1.2.3', SOPInstanceUID: '1.2.3.4' }] });
    expect(identifyP10(file)).toEqual(identity(file));
    expect(identifyP10(file).sopInstanceUID).not.toBe('1.2.3.4');
    expect(identifyP10(file).studyInstanceUID).not.toBe('1.2.3');
  });
});
