import { gunzipSync } from 'node:zlib';
import { GetImageSetMetadataCommand, ListDatastoresCommand, SearchImageSetsCommand } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { startLocalService } from '../../src/local/service.js';
import { sdkClient, startTestService, type TestService } from '../helpers/local.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ seedDemo: true });
});
afterAll(async () => t.stop());

describe('demo data', () => {
  it('seeds a demo datastore with a CT series, an MR series and a multi-frame instance, imported through an import job', async () => {
    const ds = t.service.demoDatastoreId!;
    const { imageSetsMetadataSummaries } = await t.client.send(new SearchImageSetsCommand({ datastoreId: ds, searchCriteria: {} }));
    const byModality = Object.fromEntries(imageSetsMetadataSummaries!.map((s) => [s.DICOMTags!.DICOMSeriesModality, s]));
    expect(Object.keys(byModality).sort()).toEqual(['CT', 'MR', 'XA']);
    expect(byModality.CT!.DICOMTags!.DICOMNumberOfStudyRelatedInstances).toBe(12);
    for (const s of imageSetsMetadataSummaries!) expect(s.DICOMTags!.DICOMPatientName).toMatch(/^DEMO\^/);
    const res = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: byModality.XA!.imageSetId }));
    const doc = JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString('utf8')) as ImageSetMetadataDocument;
    const xa = Object.values(Object.values(doc.Study.Series)[0]!.Instances)[0]!;
    expect(xa.ImageFrames).toHaveLength(6);
    const ct = await t.client.send(new GetImageSetMetadataCommand({ datastoreId: ds, imageSetId: byModality.CT!.imageSetId }));
    const ctDoc = JSON.parse(gunzipSync(await ct.imageSetMetadataBlob!.transformToByteArray()).toString('utf8')) as ImageSetMetadataDocument;
    const ctInstance = Object.values(Object.values(ctDoc.Study.Series)[0]!.Instances)[0]!;
    expect(ctInstance.DICOMVRs['00091001']).toBe('LO');
  });

  it('is not seeded twice: a restart on the same data directory finds it', async () => {
    await t.service.close();
    const again = await startLocalService({ dataDir: t.dataDir, seedDemo: true, transitionDelayMs: 20, durable: false, log: () => undefined });
    expect(again.demoDatastoreId).toBe(t.service.demoDatastoreId);
    const client = sdkClient(again);
    expect((await client.send(new ListDatastoresCommand({}))).datastoreSummaries).toHaveLength(1);
    client.destroy();
    await again.close();
  });
});
