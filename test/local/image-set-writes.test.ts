import { gunzipSync } from 'node:zlib';
import {
  CopyImageSetCommand,
  DeleteDatastoreCommand,
  DeleteImageSetCommand,
  GetImageFrameCommand,
  GetImageSetCommand,
  GetImageSetMetadataCommand,
  ListImageSetVersionsCommand,
  SearchImageSetsCommand,
  UpdateImageSetMetadataCommand,
} from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { attributesOf, ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles, waitActive } from '../helpers/import.js';
import { rejection, startTestService, type TestService } from '../helpers/local.js';

let t: TestService;
let ds: string;
let seed = 100;

const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const doc = async (imageSetId: string, versionId?: string) => {
  const res = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId, ...(versionId && { versionId }) }));
  return JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString('utf8')) as ImageSetMetadataDocument;
};
/** Imports a fresh series and returns its primary image set, with its series and instance UIDs. */
async function freshImageSet(options: { slices?: number; patientId?: string; studyInstanceUID?: string; seriesInstanceUID?: string } = {}) {
  const files = ctSeriesFiles({ slices: options.slices ?? 3, seed: seed++, patientId: options.patientId ?? 'PAT-W', ...options });
  await importFiles(t.client, t.dataDir, ds, files);
  const first = attributesOf(files['0001.dcm']!);
  const [primary] = await imageSetsOfSeries(t.client, ds, String(first.SeriesInstanceUID));
  const d = await doc(primary!.imageSetId);
  const seriesUid = Object.keys(d.Study.Series)[0]!;
  return { imageSetId: primary!.imageSetId, seriesUid, studyUid: String(first.StudyInstanceUID), sops: Object.keys(d.Study.Series[seriesUid]!.Instances), doc: d, files };
}
const update = (imageSetId: string, latestVersionId: string, updates: Record<string, unknown>, force?: boolean) =>
  t.client.send(new UpdateImageSetMetadataCommand({ datastoreId: ds, imageSetId, latestVersionId, updateImageSetMetadataUpdates: updates as never, ...(force !== undefined && { force }) }));
const dicomUpdates = (updatable?: unknown, removable?: unknown) => ({
  DICOMUpdates: { ...(updatable !== undefined && { updatableAttributes: enc(updatable) }), ...(removable !== undefined && { removableAttributes: enc(removable) }) },
});
const instanceUpdate = (seriesUid: string, sop: string, body: Record<string, unknown>) => ({ SchemaVersion: 1.1, Study: { Series: { [seriesUid]: { Instances: { [sop]: body } } } } });

beforeAll(async () => {
  t = await startTestService();
  ds = await createActiveDatastore(t.client, 'writes');
});
afterAll(async () => t.stop());

describe('UpdateImageSetMetadata', () => {
  it('updates a Patient attribute: LOCKED/UPDATING, then ACTIVE/UPDATED at version 2; version 1 unchanged', async () => {
    const s = await freshImageSet();
    const res = await update(s.imageSetId, '1', dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'MX^MX' } } }));
    expect(res).toMatchObject({ datastoreId: ds, imageSetId: s.imageSetId, latestVersionId: '2', imageSetState: 'LOCKED', imageSetWorkflowStatus: 'UPDATING' });
    const after = await waitActive(t.client, ds, s.imageSetId);
    expect(after).toMatchObject({ versionId: '2', imageSetWorkflowStatus: 'UPDATED' });
    expect((await doc(s.imageSetId)).Patient.DICOM.PatientName).toBe('MX^MX');
    expect((await doc(s.imageSetId, '1')).Patient.DICOM.PatientName).toBe(s.doc.Patient.DICOM.PatientName);
    const found = await t.client.send(new SearchImageSetsCommand({ datastoreId: ds, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMSeriesInstanceUID: s.seriesUid }] }] } }));
    expect(found.imageSetsMetadataSummaries![0]!.DICOMTags!.DICOMPatientName).toBe('MX^MX');
  });

  it('updates Study, Series and Instance attributes and removes an attribute', async () => {
    const s = await freshImageSet();
    const sop = s.sops[0]!;
    await update(s.imageSetId, '1', dicomUpdates({ SchemaVersion: '1.1', Study: { DICOM: { StudyDescription: 'CHEST' }, Series: { [s.seriesUid]: { DICOM: { SeriesDescription: 'AXIAL 1mm' }, Instances: { [sop]: { DICOM: { InstanceNumber: '42' } } } } } } }));
    await waitActive(t.client, ds, s.imageSetId);
    let d = await doc(s.imageSetId);
    expect(d.Study.DICOM.StudyDescription).toBe('CHEST');
    expect(d.Study.Series[s.seriesUid]!.DICOM.SeriesDescription).toBe('AXIAL 1mm');
    expect(d.Study.Series[s.seriesUid]!.Instances[sop]!.DICOM.InstanceNumber).toBe('42');
    await update(s.imageSetId, '2', dicomUpdates(undefined, { SchemaVersion: 1.1, Study: { DICOM: { StudyDescription: 'CHEST' } } }));
    await waitActive(t.client, ds, s.imageSetId);
    d = await doc(s.imageSetId);
    expect(d.Study.DICOM).not.toHaveProperty('StudyDescription');
  });

  it('removes a whole instance with force, and refuses it without', async () => {
    const s = await freshImageSet();
    const removal = dicomUpdates(undefined, instanceUpdate(s.seriesUid, s.sops[1]!, {}));
    const refused = await rejection(update(s.imageSetId, '1', removal));
    expect(refused.name).toBe('ValidationException');
    expect(refused.message).toContain('force');
    await update(s.imageSetId, '1', removal, true);
    const got = await waitActive(t.client, ds, s.imageSetId);
    expect(got.overrides?.forced).toBe(true);
    const d = await doc(s.imageSetId);
    expect(Object.keys(d.Study.Series[s.seriesUid]!.Instances).sort()).toEqual([s.sops[0]!, s.sops[2]!].sort());
  });

  it('adds and updates a private tag with force and DICOMVRs; refuses it without force', async () => {
    const s = await freshImageSet();
    const sop = s.sops[0]!;
    const add = dicomUpdates(instanceUpdate(s.seriesUid, sop, { DICOM: { '001910F9': '97' }, DICOMVRs: { '001910F9': 'DS' } }));
    const refused = await rejection(update(s.imageSetId, '1', add));
    expect(refused.message).toMatch(/private attribute requires force/);
    await update(s.imageSetId, '1', add, true);
    await waitActive(t.client, ds, s.imageSetId);
    await update(s.imageSetId, '2', dicomUpdates(instanceUpdate(s.seriesUid, sop, { DICOM: { '001910F9': '98' } })), true);
    await waitActive(t.client, ds, s.imageSetId);
    const instance = (await doc(s.imageSetId)).Study.Series[s.seriesUid]!.Instances[sop]!;
    expect(instance.DICOM['001910F9']).toBe('98');
    expect(instance.DICOMVRs['001910F9']).toBe('DS');
    const noVr = await rejection(update(s.imageSetId, '3', dicomUpdates(instanceUpdate(s.seriesUid, sop, { DICOM: { '00331010': 'x' } })), true));
    expect(noVr.message).toContain('DICOMVRs');
  });

  it('changes a SOPInstanceUID with force, re-keying the instance', async () => {
    const s = await freshImageSet();
    const [sop] = s.sops;
    const newUid = `${sop}.9`;
    const change = dicomUpdates(instanceUpdate(s.seriesUid, sop!, { DICOM: { SOPInstanceUID: newUid } }));
    expect((await rejection(update(s.imageSetId, '1', change))).message).toMatch(/SOPInstanceUID requires force/);
    await update(s.imageSetId, '1', change, true);
    await waitActive(t.client, ds, s.imageSetId);
    const instances = (await doc(s.imageSetId)).Study.Series[s.seriesUid]!.Instances;
    expect(instances[newUid]!.DICOM.SOPInstanceUID).toBe(newUid);
    expect(instances).not.toHaveProperty(sop!);
    // Its frames still resolve.
    const frame = instances[newUid]!.ImageFrames[0]!.ID;
    const res = await t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: s.imageSetId, imageFrameInformation: { imageFrameId: frame } }));
    expect((await res.imageFrameBlob!.transformToByteArray()).length).toBeGreaterThan(0);
  });

  it('reverts to an earlier version as a new version', async () => {
    const s = await freshImageSet();
    await update(s.imageSetId, '1', dicomUpdates({ SchemaVersion: 1.1, Study: { DICOM: { StudyDescription: 'TWO' } } }));
    await waitActive(t.client, ds, s.imageSetId);
    await update(s.imageSetId, '2', dicomUpdates({ SchemaVersion: 1.1, Study: { DICOM: { StudyDescription: 'THREE' } } }));
    await waitActive(t.client, ds, s.imageSetId);
    const res = await update(s.imageSetId, '3', { revertToVersionId: '1' });
    expect(res.latestVersionId).toBe('4');
    await waitActive(t.client, ds, s.imageSetId);
    expect(await doc(s.imageSetId)).toEqual(await doc(s.imageSetId, '1'));
    const versions = await t.client.send(new ListImageSetVersionsCommand({ datastoreId: ds, imageSetId: s.imageSetId }));
    expect(versions.imageSetPropertiesList!.map((x) => [x.versionId, x.ImageSetWorkflowStatus])).toEqual([
      ['4', 'UPDATED'],
      ['3', 'UPDATED'],
      ['2', 'UPDATED'],
      ['1', 'CREATED'],
    ]);
    expect((await rejection(update(s.imageSetId, '4', { revertToVersionId: '9' }))).name).toBe('ResourceNotFoundException');
  });

  it('records UPDATE_FAILED with a message for a change that does not fit the document', async () => {
    const s = await freshImageSet();
    const res = await update(s.imageSetId, '1', dicomUpdates(instanceUpdate(s.seriesUid, '1.2.3.4.5', { DICOM: { InstanceNumber: '1' } })));
    expect(res.latestVersionId).toBe('2');
    const after = await waitActive(t.client, ds, s.imageSetId);
    expect(after).toMatchObject({ versionId: '2', imageSetWorkflowStatus: 'UPDATE_FAILED' });
    expect(after.message).toContain('1.2.3.4.5');
    expect(await doc(s.imageSetId)).toEqual(s.doc);
  });

  it('rejects invalid requests with ValidationException and changes nothing', async () => {
    const s = await freshImageSet();
    const cases: Array<[Record<string, unknown>, string, boolean?]> = [
      [{ ...dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'A' } } }), revertToVersionId: '1' }, 'exactly one'],
      [{}, 'exactly one'],
      [dicomUpdates({ SchemaVersion: 1.1, Study: { DICOM: { PatientName: 'A' } } }), 'Patient level'],
      [dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { NotAKeyword: 'A' } } }), 'not a DICOM keyword'],
      [dicomUpdates({ SchemaVersion: 1.1, ImageSetID: 'x' }), 'ImageSetID'],
      [dicomUpdates({ SchemaVersion: 1.1, Study: { DICOM: { StudyInstanceUID: '1.2.3' } } }), 'force'],
      [dicomUpdates({ SchemaVersion: 1.1, Study: { DICOM: { StudyInstanceUID: '1.2.3' } } }, undefined), 'force'],
      [dicomUpdates(instanceUpdate(s.seriesUid, s.sops[0]!, { DICOM: { Rows: 'wide' } })), 'force'],
      [dicomUpdates(undefined, { SchemaVersion: 1.1, Study: { DICOM: { StudyInstanceUID: null } } }), 'cannot be removed', true],
      [{ DICOMUpdates: { updatableAttributes: new TextEncoder().encode('{not json') } }, 'valid JSON'],
      [dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { PatientComments: 'x'.repeat(11_000) } } }), 'quota'],
    ];
    for (const [body, hint, force] of cases) {
      const err = await rejection(update(s.imageSetId, '1', body, force));
      expect(err.name, hint).toBe('ValidationException');
      expect(err.message, hint).toContain(hint);
    }
    const latest = await t.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: s.imageSetId }));
    expect(latest.versionId).toBe('1');
    const badVersion = await rejection(update(s.imageSetId, 'one', dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'A' } } })));
    expect(badVersion.message).toContain('latestVersion');
  });

  it('refuses a stale latestVersionId with 409 naming the current version, and changes on a LOCKED image set', async () => {
    const s = await freshImageSet();
    const body = dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'B' } } });
    await update(s.imageSetId, '1', body);
    const locked = await rejection(update(s.imageSetId, '2', body));
    expect([locked.name, locked.$metadata?.httpStatusCode]).toEqual(['ConflictException', 409]);
    expect(locked.message).toContain('LOCKED');
    await waitActive(t.client, ds, s.imageSetId);
    const stale = await rejection(update(s.imageSetId, '1', body));
    expect(stale.name).toBe('ConflictException');
    expect(stale.message).toContain('latest is 2');
  });

  it('lets exactly one of 50 simultaneous updates with the same latestVersionId win', async () => {
    const s = await freshImageSet({ slices: 1 });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => update(s.imageSetId, '1', dicomUpdates({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: `RACE^${i}` } } }))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const conflicts = results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'ConflictException');
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
    const after = await waitActive(t.client, ds, s.imageSetId);
    expect(after.versionId).toBe('2');
  });
});

describe('CopyImageSet', () => {
  it('copies to a new image set: both LOCKED, then COPIED; frames are shared', async () => {
    const s = await freshImageSet();
    const res = await t.client.send(new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: s.imageSetId, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1' } } }));
    expect(res.sourceImageSetProperties).toMatchObject({ imageSetId: s.imageSetId, latestVersionId: '1', imageSetState: 'LOCKED', imageSetWorkflowStatus: 'COPYING_WITH_READ_ONLY_ACCESS' });
    const dest = res.destinationImageSetProperties!;
    expect(dest).toMatchObject({ latestVersionId: '1', imageSetState: 'LOCKED', imageSetWorkflowStatus: 'COPYING' });
    expect(dest.imageSetId).not.toBe(s.imageSetId);
    expect(await waitActive(t.client, ds, s.imageSetId)).toMatchObject({ versionId: '1', imageSetWorkflowStatus: 'COPIED' });
    const copied = await waitActive(t.client, ds, dest.imageSetId!);
    expect(copied).toMatchObject({ imageSetWorkflowStatus: 'COPIED', isPrimary: false });
    const copy = await doc(dest.imageSetId!);
    expect(copy.ImageSetID).toBe(dest.imageSetId);
    expect(copy.Study.Series).toEqual(s.doc.Study.Series);
    const frame = Object.values(copy.Study.Series[s.seriesUid]!.Instances)[0]!.ImageFrames[0]!.ID;
    const bytes = await (await t.client.send(new GetImageFrameCommand({ datastoreId: ds, imageSetId: dest.imageSetId, imageFrameInformation: { imageFrameId: frame } }))).imageFrameBlob!.transformToByteArray();
    expect(bytes.length).toBeGreaterThan(0);
  });

  it('copies a subset into an existing image set of the same series, and fails with COPY_FAILED on a series mismatch without force', async () => {
    const s = await freshImageSet();
    // A non-primary split of the same series: copy one instance of the source into it.
    const split = await t.client.send(
      new CopyImageSetCommand({
        datastoreId: ds,
        sourceImageSetId: s.imageSetId,
        copyImageSetInformation: { sourceImageSet: { latestVersionId: '1', DICOMCopies: { copiableAttributes: JSON.stringify({ SchemaVersion: '1.1', Study: { Series: { [s.seriesUid]: { Instances: { [s.sops[0]!]: {} } } } } }) } } },
      }),
    );
    const splitId = split.destinationImageSetProperties!.imageSetId!;
    await waitActive(t.client, ds, splitId);
    await waitActive(t.client, ds, s.imageSetId);
    expect(Object.keys((await doc(splitId)).Study.Series[s.seriesUid]!.Instances)).toEqual([s.sops[0]]);
    const subset = JSON.stringify({ SchemaVersion: '1.1', Study: { Series: { [s.seriesUid]: { Instances: { [s.sops[1]!]: {} } } } } });
    const into = await t.client.send(
      new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: s.imageSetId, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1', DICOMCopies: { copiableAttributes: subset } }, destinationImageSet: { imageSetId: splitId, latestVersionId: '1' } } }),
    );
    expect(into.destinationImageSetProperties).toMatchObject({ imageSetId: splitId, latestVersionId: '2', imageSetWorkflowStatus: 'COPYING' });
    await waitActive(t.client, ds, splitId);
    await waitActive(t.client, ds, s.imageSetId);
    expect(Object.keys((await doc(splitId)).Study.Series[s.seriesUid]!.Instances).sort()).toEqual([s.sops[0]!, s.sops[1]!].sort());

    const other = await freshImageSet();
    const mismatch = await t.client.send(
      new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: other.imageSetId, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1' }, destinationImageSet: { imageSetId: splitId, latestVersionId: '2' } } }),
    );
    expect(mismatch.destinationImageSetProperties!.latestVersionId).toBe('3');
    const failed = await waitActive(t.client, ds, splitId);
    expect(failed).toMatchObject({ versionId: '3', imageSetWorkflowStatus: 'COPY_FAILED' });
    expect(failed.message).toBe("INVALID_REQUEST:  Series of SourceImageSet and DestinationImageSet don't match.");
    expect(Object.keys((await doc(splitId)).Study.Series[s.seriesUid]!.Instances)).toHaveLength(2);
    await waitActive(t.client, ds, other.imageSetId);

    // With force the destination keeps its own Patient/Study/Series metadata and takes the instances.
    const forced = await t.client.send(
      new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: other.imageSetId, force: true, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1', DICOMCopies: { copiableAttributes: JSON.stringify({ SchemaVersion: '1.1', Study: { Series: { [other.seriesUid]: { Instances: { [other.sops[0]!]: {} } } } } }) } }, destinationImageSet: { imageSetId: splitId, latestVersionId: '3' } } }),
    );
    expect(forced.destinationImageSetProperties!.latestVersionId).toBe('4');
    const done = await waitActive(t.client, ds, splitId);
    expect(done).toMatchObject({ imageSetWorkflowStatus: 'COPIED', overrides: { forced: true } });
    const merged = await doc(splitId);
    expect(Object.keys(merged.Study.Series)).toEqual([s.seriesUid]);
    expect(merged.Study.DICOM.StudyInstanceUID).toBe(s.studyUid);
    expect(Object.keys(merged.Study.Series[s.seriesUid]!.Instances)).toContain(other.sops[0]);
  });

  it('promotes a copy to a new primary image set only when its series has no primary', async () => {
    const s = await freshImageSet();
    const refused = await rejection(t.client.send(new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: s.imageSetId, promoteToPrimary: true, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1' } } })));
    expect(refused.name).toBe('ConflictException');
    const copy = await t.client.send(new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: s.imageSetId, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1' } } }));
    const copyId = copy.destinationImageSetProperties!.imageSetId!;
    await waitActive(t.client, ds, copyId);
    await waitActive(t.client, ds, s.imageSetId);
    await t.client.send(new DeleteImageSetCommand({ datastoreId: ds, imageSetId: s.imageSetId }));
    const promoted = await t.client.send(new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: copyId, promoteToPrimary: true, copyImageSetInformation: { sourceImageSet: { latestVersionId: '1' } } }));
    const primaryId = promoted.destinationImageSetProperties!.imageSetId!;
    expect(primaryId).not.toBe(copyId);
    expect(await waitActive(t.client, ds, primaryId)).toMatchObject({ isPrimary: true, imageSetWorkflowStatus: 'COPIED' });
  });

  it('validates copies: stale versions, unknown instances, same source and destination', async () => {
    const s = await freshImageSet();
    const copy = (info: Record<string, unknown>, flags: Record<string, boolean> = {}) =>
      rejection(t.client.send(new CopyImageSetCommand({ datastoreId: ds, sourceImageSetId: s.imageSetId, copyImageSetInformation: info as never, ...flags })));
    expect((await copy({ sourceImageSet: { latestVersionId: '2' } })).name).toBe('ConflictException');
    expect((await copy({ sourceImageSet: { latestVersionId: '1', DICOMCopies: { copiableAttributes: JSON.stringify({ Study: { Series: { '9.9': {} } } }) } } })).message).toContain('9.9');
    expect((await copy({ sourceImageSet: { latestVersionId: '1', DICOMCopies: { copiableAttributes: '{nope' } } })).name).toBe('ValidationException');
    expect((await copy({ sourceImageSet: { latestVersionId: '1' }, destinationImageSet: { imageSetId: s.imageSetId, latestVersionId: '1' } })).name).toBe('ValidationException');
    expect((await copy({ sourceImageSet: { latestVersionId: '1' }, destinationImageSet: { imageSetId: 'a'.repeat(32), latestVersionId: '1' } })).name).toBe('ResourceNotFoundException');
    expect((await copy({})).name).toBe('ValidationException');
  });
});

describe('DeleteImageSet', () => {
  it('goes LOCKED/DELETING, then disappears from reads and search; the datastore can then be deleted', async () => {
    const own = await createActiveDatastore(t.client, 'to-empty');
    const files = ctSeriesFiles({ slices: 2, seed: seed++ });
    await importFiles(t.client, t.dataDir, own, files);
    const [set] = await imageSetsOfSeries(t.client, own, String(attributesOf(files['0001.dcm']!).SeriesInstanceUID));
    const blocked = await rejection(t.client.send(new DeleteDatastoreCommand({ datastoreId: own })));
    expect(blocked.name).toBe('ConflictException');
    const res = await t.client.send(new DeleteImageSetCommand({ datastoreId: own, imageSetId: set!.imageSetId }));
    expect(res).toMatchObject({ datastoreId: own, imageSetId: set!.imageSetId, imageSetState: 'LOCKED', imageSetWorkflowStatus: 'DELETING' });
    const again = await rejection(t.client.send(new DeleteImageSetCommand({ datastoreId: own, imageSetId: set!.imageSetId })));
    expect(again.name).toBe('ConflictException');
    for (let i = 0; i < 200; i++) {
      const r = await t.client.send(new GetImageSetCommand({ datastoreId: own, imageSetId: set!.imageSetId })).catch((e: Error) => e);
      if (r instanceof Error) {
        expect(r.name).toBe('ResourceNotFoundException');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const found = await t.client.send(new SearchImageSetsCommand({ datastoreId: own, searchCriteria: {} }));
    expect(found.imageSetsMetadataSummaries).toEqual([]);
    expect((await rejection(t.client.send(new GetImageSetMetadataCommand({ datastoreId: own, imageSetId: set!.imageSetId })))).name).toBe('ResourceNotFoundException');
    const deleted = await t.client.send(new DeleteDatastoreCommand({ datastoreId: own }));
    expect(deleted.datastoreStatus).toBe('DELETING');
  });

  it('refuses unknown image sets', async () => {
    expect((await rejection(t.client.send(new DeleteImageSetCommand({ datastoreId: ds, imageSetId: 'f'.repeat(32) })))).name).toBe('ResourceNotFoundException');
  });
});

