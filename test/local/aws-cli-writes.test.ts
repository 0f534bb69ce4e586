/**
 * The real AWS CLI v1 against the local service for the write shapes of its documentation examples
 * (`aws medical-imaging update-image-set-metadata help`, `copy-image-set help`, `list-image-set-versions help`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { aws, awsCliAvailable } from '../helpers/aws-cli.js';
import { attributesOf, ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles, waitActive } from '../helpers/import.js';
import { startTestService, tempDir, type TestService } from '../helpers/local.js';

let t: TestService;
let work: string;
let ds: string;
let seed = 900;

describe.skipIf(!awsCliAvailable)('AWS CLI v1 write shapes', () => {
  beforeAll(async () => {
    t = await startTestService();
    work = tempDir('himcp-cliw-');
    ds = await createActiveDatastore(t.client);
  });
  afterAll(async () => {
    await t?.stop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  const cli = async (args: string[]) => JSON.parse((await aws(t.service, args, work)) || '{}');
  const fresh = async () => {
    const files = ctSeriesFiles({ slices: 3, size: 32, seed: seed++ });
    await importFiles(t.client, t.dataDir, ds, files);
    const series = String(attributesOf(files['0001.dcm']!).SeriesInstanceUID);
    const [set] = await imageSetsOfSeries(t.client, ds, series);
    const doc = await metadata(set!.imageSetId);
    return { id: set!.imageSetId, series, sops: Object.keys(doc.Study.Series[series]!.Instances) };
  };
  const metadata = async (id: string, version?: string): Promise<ImageSetMetadataDocument> => {
    const out = `m-${id}-${version ?? 'latest'}.json.gz`;
    await cli(['get-image-set-metadata', '--datastore-id', ds, '--image-set-id', id, ...(version ? ['--version-id', version] : []), out]);
    return JSON.parse(gunzipSync(await fs.readFile(path.join(work, out))).toString('utf8'));
  };
  /**
   * update-image-set-metadata as the documentation writes it, a file:// payload. The examples add
   * `--cli-binary-format raw-in-base64-out`, a CLI v2 option; v1 has no such option and already sends blob members
   * of JSON input as raw text, which is what that option makes v2 do.
   */
  const update = async (id: string, latest: string, payload: unknown, force = false) => {
    await fs.writeFile(path.join(work, 'metadata-updates.json'), JSON.stringify(payload));
    const res = await cli([
      'update-image-set-metadata', '--datastore-id', ds, '--image-set-id', id, '--latest-version-id', latest,
      '--update-image-set-metadata-updates', 'file://metadata-updates.json', ...(force ? ['--force'] : []),
    ]);
    expect(res).toMatchObject({ imageSetState: 'LOCKED', imageSetWorkflowStatus: 'UPDATING', imageSetId: id, datastoreId: ds });
    await waitActive(t.client, ds, id);
    return res as { latestVersionId: string };
  };
  const instancePayload = (series: string, sop: string, body: unknown) => JSON.stringify({ SchemaVersion: 1.1, Study: { Series: { [series]: { Instances: { [sop]: body } } } } });

  it('update-image-set-metadata: attribute update, attribute removal, instance removal, revert', async () => {
    const s = await fresh();
    expect((await update(s.id, '1', { DICOMUpdates: { updatableAttributes: JSON.stringify({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'MX^MX' } } }) } })).latestVersionId).toBe('2');
    expect((await metadata(s.id)).Patient.DICOM.PatientName).toBe('MX^MX');
    await update(s.id, '2', { DICOMUpdates: { updatableAttributes: JSON.stringify({ SchemaVersion: 1.1, Study: { DICOM: { StudyDescription: 'CHEST' } } }) } });
    await update(s.id, '3', { DICOMUpdates: { removableAttributes: JSON.stringify({ SchemaVersion: 1.1, Study: { DICOM: { StudyDescription: 'CHEST' } } }) } });
    expect((await metadata(s.id)).Study.DICOM).not.toHaveProperty('StudyDescription');
    await update(s.id, '4', { DICOMUpdates: { removableAttributes: instancePayload(s.series, s.sops[2]!, {}) } }, true);
    expect(Object.keys((await metadata(s.id)).Study.Series[s.series]!.Instances)).toHaveLength(2);
    const revert = await cli([
      'update-image-set-metadata', '--datastore-id', ds, '--image-set-id', s.id, '--latest-version-id', '5',
      '--update-image-set-metadata-updates', '{"revertToVersionId": "1"}',
    ]);
    expect(revert).toMatchObject({ latestVersionId: '6', imageSetState: 'LOCKED', imageSetWorkflowStatus: 'UPDATING' });
    await waitActive(t.client, ds, s.id);
    expect(await metadata(s.id)).toEqual(await metadata(s.id, '1'));
  });

  it('update-image-set-metadata: private tag with force, then its update; SOPInstanceUID change with force', async () => {
    const s = await fresh();
    const [sop] = s.sops;
    await update(s.id, '1', { DICOMUpdates: { updatableAttributes: instancePayload(s.series, sop!, { DICOM: { '001910F9': '97' }, DICOMVRs: { '001910F9': 'DS' } }) } }, true);
    await update(s.id, '2', { DICOMUpdates: { updatableAttributes: instancePayload(s.series, sop!, { DICOM: { '001910F9': '98' } }) } }, true);
    const instance = (await metadata(s.id)).Study.Series[s.series]!.Instances[sop!]!;
    expect([instance.DICOM['001910F9'], instance.DICOMVRs['001910F9']]).toEqual(['98', 'DS']);
    const newUid = `${sop}.9`;
    await update(s.id, '3', { DICOMUpdates: { updatableAttributes: instancePayload(s.series, sop!, { DICOM: { SOPInstanceUID: newUid } }) } }, true);
    expect(Object.keys((await metadata(s.id)).Study.Series[s.series]!.Instances)).toContain(newUid);
    // Without --force the CLI prints the service's ValidationException.
    await fs.writeFile(path.join(work, 'metadata-updates.json'), JSON.stringify({ DICOMUpdates: { updatableAttributes: instancePayload(s.series, newUid, { DICOM: { SOPInstanceUID: `${newUid}.1` } }) } }));
    await expect(
      aws(t.service, ['update-image-set-metadata', '--datastore-id', ds, '--image-set-id', s.id, '--latest-version-id', '4', '--update-image-set-metadata-updates', 'file://metadata-updates.json'], work),
    ).rejects.toThrow(/ValidationException.*force/);
  });

  it('copy-image-set: without destination, with destination, a subset with force; list-image-set-versions', async () => {
    const s = await fresh();
    const copy = await cli(['copy-image-set', '--datastore-id', ds, '--source-image-set-id', s.id, '--copy-image-set-information', '{"sourceImageSet": {"latestVersionId": "1" } }']);
    expect(copy.sourceImageSetProperties).toMatchObject({ latestVersionId: '1', imageSetWorkflowStatus: 'COPYING_WITH_READ_ONLY_ACCESS', imageSetId: s.id, imageSetState: 'LOCKED' });
    expect(copy.destinationImageSetProperties).toMatchObject({ imageSetWorkflowStatus: 'COPYING', imageSetState: 'LOCKED' });
    const dest = copy.destinationImageSetProperties.imageSetId as string;
    await waitActive(t.client, ds, dest);
    await waitActive(t.client, ds, s.id);

    const into = await cli(['copy-image-set', '--datastore-id', ds, '--source-image-set-id', s.id, '--copy-image-set-information', JSON.stringify({ sourceImageSet: { latestVersionId: '1' }, destinationImageSet: { imageSetId: dest, latestVersionId: '1' } })]);
    expect(into.destinationImageSetProperties).toMatchObject({ latestVersionId: '2', imageSetWorkflowStatus: 'COPYING', imageSetId: dest });
    await waitActive(t.client, ds, dest);
    await waitActive(t.client, ds, s.id);

    const other = await fresh();
    const copiableAttributes = JSON.stringify({ SchemaVersion: '1.1', Study: { Series: { [other.series]: { Instances: { [other.sops[0]!]: {} } } } } });
    const subset = await cli([
      'copy-image-set', '--datastore-id', ds, '--source-image-set-id', other.id, '--force',
      '--copy-image-set-information', JSON.stringify({ sourceImageSet: { latestVersionId: '1', DICOMCopies: { copiableAttributes } }, destinationImageSet: { imageSetId: dest, latestVersionId: '2' } }),
    ]);
    expect(subset.destinationImageSetProperties).toMatchObject({ latestVersionId: '3', imageSetId: dest });
    await waitActive(t.client, ds, dest);
    expect(Object.keys((await metadata(dest)).Study.Series[s.series]!.Instances)).toContain(other.sops[0]);

    const versions = await cli(['list-image-set-versions', '--datastore-id', ds, '--image-set-id', dest]);
    expect(versions.imageSetPropertiesList.map((v: { versionId: string; ImageSetWorkflowStatus: string }) => [v.versionId, v.ImageSetWorkflowStatus])).toEqual([
      ['3', 'COPIED'],
      ['2', 'COPIED'],
      ['1', 'COPIED'],
    ]);
  });
});
