import { describe, expect, it } from 'vitest';
import { ABSENT, diffDocuments, formatChange } from '../../src/dicom/diff.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { applyMetadataUpdate, UpdateFailed, UpdateRejected } from '../../src/dicom/update.js';

const doc: ImageSetMetadataDocument = {
  SchemaVersion: '1.1',
  DatastoreID: 'd'.repeat(32),
  ImageSetID: 'i'.repeat(32),
  Patient: { DICOM: { PatientName: 'DOE^J', PatientID: 'P1' } },
  Study: {
    DICOM: { StudyInstanceUID: '1.2.3', StudyDescription: 'CT CHEST' },
    Series: {
      '1.2.3.4': {
        DICOM: { SeriesInstanceUID: '1.2.3.4', Modality: 'CT' },
        Instances: {
          '1.2.3.4.1': { DICOM: { SOPInstanceUID: '1.2.3.4.1', InstanceNumber: '1' }, DICOMVRs: {}, StoredTransferSyntaxUID: '1.2.840.10008.1.2.4.202', ImageFrames: [] },
          '1.2.3.4.2': { DICOM: { SOPInstanceUID: '1.2.3.4.2', InstanceNumber: '2' }, DICOMVRs: {}, StoredTransferSyntaxUID: '1.2.840.10008.1.2.4.202', ImageFrames: [] },
        },
      },
    },
  },
};
const instance = (sop: string, body: Record<string, unknown>) => ({ SchemaVersion: 1.1, Study: { Series: { '1.2.3.4': { Instances: { [sop]: body } } } } });

describe('applyMetadataUpdate and diffDocuments', () => {
  it('updates, removes and reports each change at its level without touching the input', () => {
    const next = applyMetadataUpdate(
      doc,
      { updatableAttributes: { SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'DOE^JANE' } } }, removableAttributes: { SchemaVersion: '1.1', Study: { DICOM: { StudyDescription: '' } } } },
      { force: false },
    );
    expect(doc.Patient.DICOM.PatientName).toBe('DOE^J');
    const changes = diffDocuments(doc, next);
    expect(changes).toEqual([
      { kind: 'attribute', level: 'Patient', attribute: 'PatientName', before: 'DOE^J', after: 'DOE^JANE' },
      { kind: 'attribute', level: 'Study', attribute: 'StudyDescription', before: 'CT CHEST', after: ABSENT },
    ]);
    expect(changes.map(formatChange)).toEqual(['Patient PatientName: "DOE^J" → "DOE^JANE"', 'Study StudyDescription: "CT CHEST" → (absent)']);
  });

  it('removes an instance (with force) and re-keys a changed SOPInstanceUID (with force)', () => {
    expect(() => applyMetadataUpdate(doc, { removableAttributes: instance('1.2.3.4.2', {}) }, { force: false })).toThrow(UpdateRejected);
    const removed = applyMetadataUpdate(doc, { removableAttributes: instance('1.2.3.4.2', {}) }, { force: true });
    expect(diffDocuments(doc, removed)).toEqual([{ kind: 'instance-removed', series: '1.2.3.4', instance: '1.2.3.4.2' }]);
    const rekeyed = applyMetadataUpdate(doc, { updatableAttributes: instance('1.2.3.4.1', { DICOM: { SOPInstanceUID: '1.2.3.4.9' } }) }, { force: true });
    expect(Object.keys(rekeyed.Study.Series['1.2.3.4']!.Instances).sort()).toEqual(['1.2.3.4.2', '1.2.3.4.9']);
  });

  it('handles private tags: VR required, force required, VR recorded', () => {
    const body = instance('1.2.3.4.1', { DICOM: { '001910F9': '97' }, DICOMVRs: { '001910F9': 'DS' } });
    const err = (() => {
      try {
        applyMetadataUpdate(doc, { updatableAttributes: body }, { force: false });
      } catch (e) {
        return e as UpdateRejected;
      }
    })();
    expect(err).toBeInstanceOf(UpdateRejected);
    expect(err!.needsForce).toBe(true);
    const next = applyMetadataUpdate(doc, { updatableAttributes: body }, { force: true });
    expect(diffDocuments(doc, next).map(formatChange)).toEqual(['Instance 1.2.3.4.1 001910F9: (absent) → "97"', 'Instance 1.2.3.4.1 DICOMVRs.001910F9: (absent) → "DS"']);
    expect(() => applyMetadataUpdate(doc, { updatableAttributes: instance('1.2.3.4.1', { DICOM: { '001910F9': '97' } }) }, { force: true })).toThrow(/DICOMVRs/);
  });

  it('rejects what the request alone makes invalid, and fails what does not fit the document', () => {
    const rejected: unknown[] = [
      { SchemaVersion: 1.1, Study: { DICOM: { PatientName: 'X' } } },
      { SchemaVersion: 2, Patient: { DICOM: { PatientName: 'X' } } },
      { SchemaVersion: 1.1, Patient: { DICOM: { Nonsense: 'X' } } },
      { SchemaVersion: 1.1, Patient: { DICOM: { MinPixelValue: 1 } } },
      { SchemaVersion: 1.1, Study: { DICOM: { StudyInstanceUID: '9.9' } } },
      { SchemaVersion: 1.1, DatastoreID: 'x' },
      'not an object',
    ];
    for (const updatableAttributes of rejected) expect(() => applyMetadataUpdate(doc, { updatableAttributes }, { force: false }), JSON.stringify(updatableAttributes)).toThrow(UpdateRejected);
    expect(() => applyMetadataUpdate(doc, { updatableAttributes: { Study: { Series: { '9.9': { DICOM: { Modality: 'MR' } } } } } }, { force: false })).toThrow(UpdateFailed);
    expect(() => applyMetadataUpdate(doc, { removableAttributes: { Patient: { DICOM: { PatientAge: '' } } } }, { force: false })).toThrow(UpdateRejected);
    expect(() => applyMetadataUpdate(doc, { removableAttributes: { Patient: { DICOM: { PatientSex: '' } } } }, { force: false })).toThrow(UpdateFailed);
    const both = { removableAttributes: { Study: { Series: { '1.2.3.4': {} } } } };
    expect(() => applyMetadataUpdate(doc, both, { force: true })).toThrow(/every instance/);
    expect(() => applyMetadataUpdate(doc, {}, { force: false })).toThrow(UpdateRejected);
  });
});
