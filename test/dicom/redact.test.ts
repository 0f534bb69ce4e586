/** The PHI masks over the three shapes: metadata documents, DICOM JSON datasets, search DICOMTags. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookupAttribute } from '../../src/dicom/dictionary.js';
import {
  isPrivateDataElement,
  isRedacted,
  PHI_ATTRIBUTES,
  pseudonymizer,
  redactDicomJson,
  redactMetadataDocument,
  redactSearchTags,
} from '../../src/dicom/redact.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';

const mask = pseudonymizer(new Uint8Array(32).fill(7));
const PSEUDONYM = /^\[redacted [0-9a-f]{8}\]$/;

describe('the attribute list', () => {
  it('names each attribute by its PS3.6 tag and keyword', () => {
    for (const { tag, keyword } of PHI_ATTRIBUTES) {
      const entry = lookupAttribute(tag);
      expect(entry, tag).toBeDefined();
      expect(entry!.keyword.replace(/^RETIRED_/, ''), tag).toBe(keyword);
      expect(isRedacted(keyword) && isRedacted(tag) && isRedacted(tag.toLowerCase()), keyword).toBe(true);
    }
  });

  it('keeps the patient characteristics, UIDs and private creators; masks private data elements', () => {
    for (const kept of ['PatientSex', 'PatientAge', 'PatientWeight', 'PatientSize', 'StudyInstanceUID', 'StudyDate', 'StudyDescription', 'ReferringPhysicianName', '00100040', '00090010'])
      expect(isRedacted(kept), kept).toBe(false);
    expect(isPrivateDataElement('00091001')).toBe(true);
    expect(isPrivateDataElement('7FE10010')).toBe(false);
    expect(isRedacted('0029105A')).toBe(true);
  });
});

describe('pseudonyms', () => {
  it('are keyed, stable, and ignore DICOM padding', () => {
    expect(mask('DOE^JANE')).toMatch(PSEUDONYM);
    expect(mask('DOE^JANE ')).toBe(mask('DOE^JANE'));
    expect(mask('DOE^JOHN')).not.toBe(mask('DOE^JANE'));
    expect(pseudonymizer(new Uint8Array(32).fill(8))('DOE^JANE')).not.toBe(mask('DOE^JANE'));
    expect(pseudonymizer()('X')).not.toBe(pseudonymizer()('X'));
  });
});

const document = (): ImageSetMetadataDocument => ({
  SchemaVersion: '1.1',
  DatastoreID: 'd'.repeat(32),
  ImageSetID: 'i'.repeat(32),
  Patient: { DICOM: { PatientName: 'DOE^JANE', PatientID: 'MRN1 ', PatientBirthDate: null, PatientSex: 'F', OtherPatientIDsSequence: [{ PatientID: 'OLD-1', IssuerOfPatientID: 'H1' }] } },
  Study: {
    DICOM: { StudyInstanceUID: '1.2.3', AccessionNumber: 'ACC9', StudyDescription: 'CT' },
    Series: {
      '1.2.3.4': {
        DICOM: { Modality: 'CT', RequestAttributesSequence: [{ AccessionNumber: 'ACC9', ScheduledProcedureStepID: 'S1' }] },
        Instances: {
          '1.2.3.4.5': {
            DICOM: { SOPInstanceUID: '1.2.3.4.5', PatientAddress: 'Somewhere 1', OtherPatientIDs: ['A', 'B'], '00090010': 'ACME', '00091001': 'JANE DOE', '00091002': 17 },
            DICOMVRs: { '00091001': 'LO', '00091002': 'US' },
            StoredTransferSyntaxUID: '1.2.840.10008.1.2.4.202',
            ImageFrames: [],
          },
        },
      },
    },
  },
});

describe('redactMetadataDocument', () => {
  it('masks every level, inside sequences too, keeps shape and the rest, and leaves its input alone', () => {
    const input = document();
    const before = JSON.stringify(input);
    const count = { masked: 0 };
    const out = redactMetadataDocument(input, mask, count);
    expect(JSON.stringify(input)).toBe(before);
    expect(out.Patient.DICOM).toEqual({
      PatientName: mask('DOE^JANE'),
      PatientID: mask('MRN1'),
      PatientBirthDate: null,
      PatientSex: 'F',
      OtherPatientIDsSequence: [{ PatientID: mask('OLD-1'), IssuerOfPatientID: mask('H1') }],
    });
    expect(out.Study.DICOM).toEqual({ StudyInstanceUID: '1.2.3', AccessionNumber: mask('ACC9'), StudyDescription: 'CT' });
    const series = out.Study.Series['1.2.3.4']!;
    expect(series.DICOM.RequestAttributesSequence).toEqual([{ AccessionNumber: mask('ACC9'), ScheduledProcedureStepID: 'S1' }]);
    const instance = series.Instances['1.2.3.4.5']!;
    expect(instance.DICOM).toEqual({
      SOPInstanceUID: '1.2.3.4.5',
      PatientAddress: mask('Somewhere 1'),
      OtherPatientIDs: [mask('A'), mask('B')],
      '00090010': 'ACME',
      '00091001': mask('JANE DOE'),
      '00091002': mask('17'),
    });
    expect(instance.DICOMVRs).toEqual({ '00091001': 'LO', '00091002': 'US' });
    expect(count.masked).toBe(11);
  });

  it('never lets a value of a masked attribute through (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3 }).filter((s) => s.trim().length >= 3 && !'[redacted 0123456789abcdef]'.includes(s.trim())), (secret) => {
        const doc = document();
        doc.Patient.DICOM.PatientName = secret;
        doc.Study.Series['1.2.3.4']!.Instances['1.2.3.4.5']!.DICOM['00091001'] = secret;
        doc.Study.Series['1.2.3.4']!.DICOM.RequestAttributesSequence = [{ AccessionNumber: [secret] }];
        const text = JSON.stringify(redactMetadataDocument(doc, mask));
        return !text.includes(JSON.stringify(secret).slice(1, -1));
      }),
    );
  });
});

describe('redactDicomJson', () => {
  it('masks strings and person names, drops what cannot hold a mask, and stays valid DICOM JSON', () => {
    const dataset = {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DOE^JANE', Ideographic: '山田' }] },
      '00100020': { vr: 'LO', Value: ['MRN1'] },
      '00100030': { vr: 'DA' },
      '00100040': { vr: 'CS', Value: ['F'] },
      '00101002': { vr: 'SQ', Value: [{ '00100020': { vr: 'LO', Value: ['OLD-1'] }, '00100022': { vr: 'CS', Value: ['TEXT'] } }] },
      '0040A370': { vr: 'SQ', Value: [{ '00080050': { vr: 'SH', Value: ['ACC9'] } }] },
      '00090010': { vr: 'LO', Value: ['ACME'] },
      '00091001': { vr: 'US', Value: [17] },
      '00091002': { vr: 'OB', InlineBinary: 'AAEC' },
      '00091003': { vr: 'OB', BulkDataURI: 'https://example/bulk' },
      '0020000D': { vr: 'UI', Value: ['1.2.3'] },
    };
    const out = redactDicomJson(dataset, mask);
    expect(out).toEqual({
      '00100010': { vr: 'PN', Value: [{ Alphabetic: mask('DOE^JANE'), Ideographic: mask('山田') }] },
      '00100020': { vr: 'LO', Value: [mask('MRN1')] },
      '00100030': { vr: 'DA' },
      '00100040': { vr: 'CS', Value: ['F'] },
      '00101002': { vr: 'SQ', Value: [{ '00100020': { vr: 'LO', Value: [mask('OLD-1')] }, '00100022': { vr: 'CS', Value: [mask('TEXT')] } }] },
      '0040A370': { vr: 'SQ', Value: [{ '00080050': { vr: 'SH', Value: [mask('ACC9')] } }] },
      '00090010': { vr: 'LO', Value: ['ACME'] },
      '00091001': { vr: 'US' },
      '00091002': { vr: 'OB' },
      '00091003': { vr: 'OB' },
      '0020000D': { vr: 'UI', Value: ['1.2.3'] },
    });
    expect(JSON.stringify(dataset)).toContain('DOE^JANE');
  });
});

describe('redactSearchTags', () => {
  it('masks the PHI search tags and keeps the rest', () => {
    const tags = { DICOMPatientName: 'DOE^JANE', DICOMPatientId: 'MRN1', DICOMPatientBirthDate: '19700101', DICOMPatientSex: 'F', DICOMAccessionNumber: 'ACC9', DICOMStudyId: 'S1', DICOMStudyDescription: 'CT', DICOMSeriesNumber: 1 };
    expect(redactSearchTags(tags, mask)).toEqual({
      DICOMPatientName: mask('DOE^JANE'),
      DICOMPatientId: mask('MRN1'),
      DICOMPatientBirthDate: mask('19700101'),
      DICOMPatientSex: 'F',
      DICOMAccessionNumber: mask('ACC9'),
      DICOMStudyId: mask('S1'),
      DICOMStudyDescription: 'CT',
      DICOMSeriesNumber: 1,
    });
  });
});
