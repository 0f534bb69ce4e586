/**
 * The metadata document cache behind get_image_frame and get_contact_sheet: it must never serve a version that is
 * no longer the latest, never let a caller change what the next one reads, and stay within its bounds.
 */
import { UpdateImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentCache, fetchMetadataDocument } from '../../src/aws/metadata.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles, waitActive } from '../helpers/import.js';
import { startTestService, type TestService } from '../helpers/local.js';

let t: TestService;
let ds: string;
let imageSetId: string;
const SERIES = '1.2.826.0.1.3680043.8.498.424242';

beforeAll(async () => {
  t = await startTestService();
  ds = await createActiveDatastore(t.client, 'cache');
  await importFiles(t.client, t.dataDir, ds, ctSeriesFiles({ slices: 2, size: 16, seriesInstanceUID: SERIES, patientName: 'CACHE^BEFORE' }));
  imageSetId = (await imageSetsOfSeries(t.client, ds, SERIES))[0]!.imageSetId;
});
afterAll(() => t.stop());

const options = { maxBytes: 10_000_000 };
const patientName = (doc: ImageSetMetadataDocument) => JSON.stringify(doc.Patient.DICOM.PatientName);

describe('fetchMetadataDocument', () => {
  it('serves a version it read before from the cache, and reads the new latest version after an update', async () => {
    const first = await fetchMetadataDocument(t.client, { datastoreId: ds, imageSetId }, options);
    const again = await fetchMetadataDocument(t.client, { datastoreId: ds, imageSetId }, options);
    expect(again.versionId).toBe(first.versionId);
    expect(again.document).toBe(first.document);
    expect(patientName(first.document)).toContain('CACHE^BEFORE');

    const updatableAttributes = new TextEncoder().encode(JSON.stringify({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'CACHE^AFTER' } } }));
    await t.client.send(
      new UpdateImageSetMetadataCommand({ datastoreId: ds, imageSetId, latestVersionId: first.versionId, updateImageSetMetadataUpdates: { DICOMUpdates: { updatableAttributes } } }),
    );
    await waitActive(t.client, ds, imageSetId);
    const after = await fetchMetadataDocument(t.client, { datastoreId: ds, imageSetId }, options);
    expect(Number(after.versionId)).toBe(Number(first.versionId) + 1);
    expect(patientName(after.document)).toContain('CACHE^AFTER');

    // An explicit older version is still that version's document.
    const old = await fetchMetadataDocument(t.client, { datastoreId: ds, imageSetId, versionId: first.versionId }, options);
    expect(patientName(old.document)).toContain('CACHE^BEFORE');
  });

  it('returns frozen documents, so no caller can change what the next one reads', async () => {
    const { document } = await fetchMetadataDocument(t.client, { datastoreId: ds, imageSetId }, options);
    expect(() => {
      (document.Patient.DICOM as Record<string, unknown>).PatientName = 'CHANGED';
    }).toThrow(TypeError);
  });

  it('fails like GetImageSet for an image set that does not exist, whatever is cached', async () => {
    await expect(fetchMetadataDocument(t.client, { datastoreId: ds, imageSetId: '0'.repeat(32) }, options)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('DocumentCache', () => {
  const doc = (id: string) => ({ ImageSetID: id }) as unknown as ImageSetMetadataDocument;

  it('evicts the least recently used entries beyond its count and byte bounds, and skips documents too big to keep', () => {
    const cache = new DocumentCache(2, 1000);
    cache.set('a', doc('a'), 100);
    cache.set('b', doc('b'), 100);
    expect(cache.get('a')?.ImageSetID).toBe('a');
    cache.set('c', doc('c'), 100);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.ImageSetID).toBe('a');
    expect(cache.size).toBe(2);

    cache.set('big', doc('big'), 251);
    expect(cache.get('big')).toBeUndefined();
    cache.set('d', doc('d'), 250);
    cache.set('e', doc('e'), 250);
    cache.set('f', doc('f'), 250);
    cache.set('g', doc('g'), 250);
    expect(cache.size).toBeLessThanOrEqual(2);
    expect(cache.get('g')?.ImageSetID).toBe('g');
  });
});
