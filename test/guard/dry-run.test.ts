/**
 * update_image_set_metadata with dry_run=true: the diff it returns is exactly the change the applied update then
 * makes (compared through the AWS SDK), it writes nothing, and the confirmation dialog shows the same diff.
 */
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffDocuments, formatChange } from '../../src/dicom/diff.js';
import { startTestService, type TestService } from '../helpers/local.js';
import { demoCt, disposableCopy, type GuardClient, type GuardServer, metadataOf, startGuardServer, structured, textOf, versionOf } from './harness.js';

let local: TestService;
let sdk: MedicalImagingClient;
let ds: string;
let ct: string;
let server: GuardServer;
let person: GuardClient;

beforeAll(async () => {
  local = await startTestService({ seedDemo: true });
  sdk = local.client;
  ds = local.service.demoDatastoreId!;
  ct = await demoCt(sdk, ds);
  server = await startGuardServer('in-memory', local, { allowWrite: true });
  person = await server.connect({ elicitation: true });
});
afterAll(async () => {
  await person.close();
  await server.close();
  await local.stop();
});

/** The first series and instance of an image set. */
async function firstInstance(imageSetId: string): Promise<{ series: string; sop: string }> {
  const [series, { Instances }] = Object.entries((await metadataOf(sdk, ds, imageSetId)).Study.Series)[0]!;
  return { series, sop: Object.keys(Instances)[0]! };
}

const CASES: Array<{ name: string; force: boolean; change(at: { series: string; sop: string }): Record<string, unknown>; diff(at: { series: string; sop: string }): string[] }> = [
  {
    name: 'attribute update',
    force: false,
    change: () => ({ updates: { Patient: { DICOM: { PatientName: 'DRY^RUN' } }, Study: { DICOM: { StudyDescription: 'DRY RUN' } } } }),
    diff: () => ['Patient PatientName: "DEMO^CHEST^CT" → "DRY^RUN"', 'Study StudyDescription: "CT CHEST (SYNTHETIC)" → "DRY RUN"'],
  },
  {
    name: 'attribute removal',
    force: false,
    change: ({ series }) => ({ removals: { Study: { DICOM: { ReferringPhysicianName: '' }, Series: { [series]: { DICOM: { BodyPartExamined: '' } } } } } }),
    diff: ({ series }) => ['Study ReferringPhysicianName: "DEMO^REFERRER" → (absent)', `Series ${series} BodyPartExamined: "CHEST " → (absent)`],
  },
  {
    name: 'instance removal',
    force: true,
    change: ({ series, sop }) => ({ removals: { Study: { Series: { [series]: { Instances: { [sop]: {} } } } } } }),
    diff: ({ series, sop }) => [`Instance ${sop} removed from series ${series}`],
  },
  {
    name: 'private tag update',
    force: true,
    change: ({ series, sop }) => ({ updates: { Study: { Series: { [series]: { Instances: { [sop]: { DICOM: { '00091001': 'EDITED' }, DICOMVRs: { '00091001': 'LO' } } } } } } } }),
    diff: ({ sop }) => [`Instance ${sop} 00091001: "SYNTHETIC PHANTOM " → "EDITED"`],
  },
];

describe.each(CASES)('dry_run: $name', ({ force, change, diff }) => {
  it('returns a readable diff, writes nothing, and matches what the applied update produces', async () => {
    const id = await disposableCopy(sdk, ds, ct);
    const at = await firstInstance(id);
    const args = { datastore_id: ds, image_set_id: id, latest_version_id: '1', force, ...change(at) };
    const asked = person.elicitations.length;
    const audited = server.audit.length;

    const dry = await person.call('update_image_set_metadata', { ...args, dry_run: true });
    expect(dry.isError, textOf(dry)).toBeFalsy();
    expect(structured(dry)).toEqual({ image_set_id: id, latest_version_id: '1', state: 'ACTIVE', workflow_status: 'COPIED', outcome: 'dry_run', changes: diff(at) });
    expect(textOf(dry)).toBe(
      [`Dry run: nothing was written. Update the metadata of image set ${id} in datastore ${ds}, version 1 → 2${force ? ', with force' : ''}.`, ...diff(at).map((l) => `  ${l}`), 'Call again without dry_run to make this change.'].join('\n'),
    );
    expect(await versionOf(sdk, ds, id)).toBe('1');
    expect(person.elicitations).toHaveLength(asked);
    expect(server.audit).toHaveLength(audited);

    const applied = await person.call('update_image_set_metadata', args);
    expect(structured(applied)).toMatchObject({ outcome: 'applied', latest_version_id: '2', workflow_status: 'UPDATED' });
    const produced = diffDocuments(await metadataOf(sdk, ds, id, '1'), await metadataOf(sdk, ds, id, '2')).map(formatChange);
    expect(produced).toEqual(diff(at));
    if (force) {
      // The confirmation showed the person the same diff.
      expect(person.elicitations).toHaveLength(asked + 1);
      for (const line of diff(at)) expect(person.elicitations.at(-1)!.message).toContain(`\n  ${line}\n`);
      expect(structured(applied).changes).toEqual(diff(at));
    } else {
      expect(person.elicitations).toHaveLength(asked);
    }
  });
});

describe('dry_run refusals say what the real update would meet', () => {
  it('a change that needs force, an absent instance, a stale version, and contradictory arguments', async () => {
    const id = await disposableCopy(sdk, ds, ct);
    const { series, sop } = await firstInstance(id);
    const base = { datastore_id: ds, image_set_id: id, latest_version_id: '1', dry_run: true };
    const audited = server.audit.length;
    const privateTag = { updates: { Study: { Series: { [series]: { Instances: { [sop]: { DICOM: { '00091001': 'X' }, DICOMVRs: { '00091001': 'LO' } } } } } } } };

    const needsForce = await person.call('update_image_set_metadata', { ...base, ...privateTag });
    expect(textOf(needsForce)).toMatch(/^UpdateRejected: .*00091001: changing a private attribute requires force=true\.\nNext step: .*force=true/);
    const absent = await person.call('update_image_set_metadata', { ...base, updates: { Study: { Series: { [series]: { Instances: { '1.2.3': { DICOM: { InstanceNumber: '9' } } } } } } } });
    expect(textOf(absent)).toMatch(/^UpdateFailed: Instance 1\.2\.3 is not in series/);
    const stale = await person.call('update_image_set_metadata', { ...base, latest_version_id: '2', ...privateTag, force: true });
    expect(textOf(stale)).toMatch(/^StaleVersion: /);
    const both = await person.call('update_image_set_metadata', { ...base, ...privateTag, revert_to_version_id: '1' });
    expect(textOf(both)).toContain('not both and not neither');
    expect(await versionOf(sdk, ds, id)).toBe('1');
    // A dry run is not a write attempt, even when it fails.
    expect(server.audit).toHaveLength(audited);
  });

  it('a revert previews the way back', async () => {
    const id = await disposableCopy(sdk, ds, ct);
    await person.call('update_image_set_metadata', { datastore_id: ds, image_set_id: id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'LATER' } } } });
    const dry = await person.call('update_image_set_metadata', { datastore_id: ds, image_set_id: id, latest_version_id: '2', revert_to_version_id: '1', dry_run: true });
    expect(structured(dry)).toMatchObject({ outcome: 'dry_run', changes: ['Study StudyDescription: "LATER" → "CT CHEST (SYNTHETIC)"'] });
    expect(textOf(dry)).toContain(`Revert image set ${id} to the content of version 1 in datastore ${ds}, version 2 → 3.`);
    expect(await versionOf(sdk, ds, id)).toBe('2');
  });
});
