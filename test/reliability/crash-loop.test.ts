/**
 * Crash safety under a randomised loop: the local service (`node dist/cli.js local`) is SIGKILLed at a random moment
 * of a random mix of writes (metadata updates, copies, deletions, tags, datastore creation), restarted on the same
 * data directory, and checked, at least 20 times. After each restart: every write the service acknowledged is there;
 * every image set's versions are contiguous; every version's document parses and every frame it names is served
 * with the size it records; no temp file outlives recovery. The loop is seeded (HEALTHIMAGING_CRASH_SEED replays one).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CopyImageSetCommand,
  CreateDatastoreCommand,
  DeleteImageSetCommand,
  GetDatastoreCommand,
  GetImageFrameCommand,
  GetImageSetCommand,
  GetImageSetMetadataCommand,
  ListImageSetVersionsCommand,
  ListTagsForResourceCommand,
  type MedicalImagingClient,
  SearchImageSetsCommand,
  TagResourceCommand,
  UpdateImageSetMetadataCommand,
} from '@aws-sdk/client-medical-imaging';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore, importFiles } from '../helpers/import.js';
import { sdkClient, tempDir, waitFor } from '../helpers/local.js';
import { type SpawnedService, spawnLocalService } from '../helpers/spawn.js';

const CYCLES = Number(process.env.HEALTHIMAGING_CRASH_CYCLES ?? 20);
const SEED = Number(process.env.HEALTHIMAGING_CRASH_SEED ?? Date.now() % 2 ** 31);

const dataDir = tempDir('himcp-crash-loop-');
/** Image sets a deletion was sent for, answered or not. */
const deleteSent = new Set<string>();
let service: SpawnedService | undefined;
afterAll(async () => {
  await service?.kill();
  await fs.rm(dataDir, { recursive: true, force: true });
});

/** What the service acknowledged, and so must survive any crash. */
interface Acknowledged {
  /** imageSetId → version → the PatientName that version was answered with (undefined: not changed by us). */
  versions: Map<string, Map<number, string | undefined>>;
  /** Image sets whose deletion was answered: they must not come back as ACTIVE. */
  deleted: Set<string>;
  /** Every tag value sent on the datastore, per key in order, and how many of them were answered. */
  tags: Map<string, { sent: string[]; answered: number }>;
  /** Datastores whose creation was answered. */
  datastores: Set<string>;
}

async function readDoc(client: MedicalImagingClient, datastoreId: string, imageSetId: string, versionId?: string): Promise<ImageSetMetadataDocument> {
  const res = await client.send(new GetImageSetMetadataCommand({ datastoreId, imageSetId, ...(versionId && { versionId }) }));
  return JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString('utf8')) as ImageSetMetadataDocument;
}

async function liveImageSets(client: MedicalImagingClient, datastoreId: string): Promise<string[]> {
  const res = await client.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: {}, maxResults: 50 }));
  return res.imageSetsMetadataSummaries!.map((s) => s.imageSetId!);
}

async function checkInvariants(client: MedicalImagingClient, datastoreId: string, arn: string, acked: Acknowledged): Promise<void> {
  // Recovery finishes what was in flight: wait until nothing is LOCKED before judging.
  const live = await waitFor(
    async () => {
      // A deletion that recovery is finishing may complete between the search and the read: that set is gone.
      const found = await liveImageSets(client, datastoreId);
      const states = await Promise.all(
        found.map((id) =>
          client.send(new GetImageSetCommand({ datastoreId, imageSetId: id })).catch((err: Error) => (err.name === 'ResourceNotFoundException' ? undefined : Promise.reject(err))),
        ),
      );
      const present = states.filter((s) => s !== undefined);
      return { ids: present.map((s) => s.imageSetId!), locked: present.filter((s) => s.imageSetState === 'LOCKED').length };
    },
    (r) => r.locked === 0,
    20_000,
    'recovery to unlock every image set',
  );
  for (const imageSetId of live.ids) {
    expect(acked.deleted.has(imageSetId), `deleted image set ${imageSetId} came back`).toBe(false);
    const versions = (await client.send(new ListImageSetVersionsCommand({ datastoreId, imageSetId }))).imageSetPropertiesList!.map((v) => Number(v.versionId));
    expect(versions, `versions of ${imageSetId}`).toEqual(Array.from({ length: versions.length }, (_, i) => versions.length - i));
    // The latest document is whole and every frame it names is served at its recorded size.
    const doc = await readDoc(client, datastoreId, imageSetId);
    expect(doc.ImageSetID).toBe(imageSetId);
    for (const series of Object.values(doc.Study.Series)) {
      for (const instance of Object.values(series.Instances)) {
        for (const frame of instance.ImageFrames) {
          const res = await client.send(new GetImageFrameCommand({ datastoreId, imageSetId, imageFrameInformation: { imageFrameId: frame.ID } }));
          expect((await res.imageFrameBlob!.transformToByteArray()).length).toBe(frame.FrameSizeInBytes);
        }
      }
    }
  }
  for (const [imageSetId, byVersion] of acked.versions) {
    if (acked.deleted.has(imageSetId) || deleteSent.has(imageSetId)) continue;
    expect(live.ids, `acknowledged image set ${imageSetId}`).toContain(imageSetId);
    for (const [version, name] of byVersion) {
      const doc = await readDoc(client, datastoreId, imageSetId, String(version));
      if (name) expect(doc.Patient.DICOM.PatientName, `${imageSetId} v${version}`).toBe(name);
    }
  }
  const { tags = {} } = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  // The last answered value, or one sent after it whose answer the kill cut off.
  for (const [key, { sent, answered }] of acked.tags) {
    if (answered === 0) continue;
    expect(sent.indexOf(tags[key]!), `tag ${key} = ${tags[key]} (sent ${sent.join(', ')}; ${answered} answered)`).toBeGreaterThanOrEqual(answered - 1);
  }
  for (const id of acked.datastores) expect((await client.send(new GetDatastoreCommand({ datastoreId: id }))).datastoreProperties!.datastoreId).toBe(id);
  // Temp files of writes cut short are swept by recovery.
  await waitFor(async () => (await fs.readdir(path.join(dataDir, 'store', '.tmp')).catch(() => [])).length, (n) => n === 0, 10_000, 'temp files to be swept');
}

type Op = 'update' | 'copy' | 'delete' | 'tag' | 'datastore';

describe('crash loop', () => {
  it(`survives ${CYCLES} SIGKILLs at random moments of mixed writes`, async () => {
    console.log(`crash loop: ${CYCLES} cycles, seed ${SEED} (HEALTHIMAGING_CRASH_SEED=${SEED} replays it)`);
    const random = fc.sample(fc.record({ ops: fc.array(fc.constantFrom<Op>('update', 'update', 'update', 'copy', 'delete', 'tag', 'datastore'), { minLength: 40, maxLength: 40 }), killAfter: fc.integer({ min: 1, max: 12 }) }), { numRuns: CYCLES, seed: SEED });
    service = await spawnLocalService(dataDir);
    let client = sdkClient(service, { maxAttempts: 1 });
    const datastoreId = await createActiveDatastore(client, 'crash-loop');
    const arn = `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${datastoreId}`;
    for (let s = 0; s < 3; s++) await importFiles(client, dataDir, datastoreId, ctSeriesFiles({ slices: 2, size: 32, seed: 900 + s, patientId: `LOOP-${s}` }));
    const originals = await liveImageSets(client, datastoreId);
    const acked: Acknowledged = { versions: new Map(), deleted: new Set(), tags: new Map(), datastores: new Set() };
    const ack = (imageSetId: string, version: number, name?: string) => {
      if (!acked.versions.has(imageSetId)) acked.versions.set(imageSetId, new Map());
      acked.versions.get(imageSetId)!.set(version, name);
    };
    let answeredTotal = 0;
    let killedInFlight = 0;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const plan = random[cycle]!;
      let answered = 0;
      let stop = false;
      let opIndex = 0;
      const nextOp = () => plan.ops[opIndex++ % plan.ops.length]!;
      const copies = (await liveImageSets(client, datastoreId)).filter((id) => !originals.includes(id));

      const worker = async (w: number) => {
        for (let n = 0; !stop; n++) {
          const op = nextOp();
          try {
            if (op === 'update' || (op === 'delete' && copies.length === 0)) {
              const imageSetId = originals[(w + n) % originals.length]!;
              const current = await client.send(new GetImageSetCommand({ datastoreId, imageSetId }));
              if (current.imageSetState !== 'ACTIVE') {
                await new Promise((r) => setTimeout(r, 5));
                continue;
              }
              const name = `LOOP^${cycle}^${w}^${n}`;
              const updatableAttributes = new TextEncoder().encode(JSON.stringify({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: name } } }));
              const res = await client.send(new UpdateImageSetMetadataCommand({ datastoreId, imageSetId, latestVersionId: current.versionId, updateImageSetMetadataUpdates: { DICOMUpdates: { updatableAttributes } } }));
              ack(imageSetId, Number(res.latestVersionId), name);
            } else if (op === 'copy') {
              const source = originals[n % originals.length]!;
              const current = await client.send(new GetImageSetCommand({ datastoreId, imageSetId: source }));
              if (current.imageSetState !== 'ACTIVE') {
                await new Promise((r) => setTimeout(r, 5));
                continue;
              }
              const res = await client.send(new CopyImageSetCommand({ datastoreId, sourceImageSetId: source, copyImageSetInformation: { sourceImageSet: { latestVersionId: current.versionId } } }));
              ack(res.destinationImageSetProperties!.imageSetId!, 1);
              copies.push(res.destinationImageSetProperties!.imageSetId!);
            } else if (op === 'delete') {
              const victim = copies.shift()!;
              // Sent is enough for it to be gone after a kill: the answer may be what the kill cut off.
              deleteSent.add(victim);
              await client.send(new DeleteImageSetCommand({ datastoreId, imageSetId: victim }));
              acked.deleted.add(victim);
            } else if (op === 'tag') {
              const key = `worker-${w}`;
              const value = `c${cycle}w${w}n${n}`;
              if (!acked.tags.has(key)) acked.tags.set(key, { sent: [], answered: 0 });
              const record = acked.tags.get(key)!;
              record.sent.push(value);
              await client.send(new TagResourceCommand({ resourceArn: arn, tags: { [key]: value } }));
              record.answered = record.sent.length;
            } else if (acked.datastores.size < 3) {
              const res = await client.send(new CreateDatastoreCommand({ datastoreName: `loop-${cycle}-${w}` }));
              acked.datastores.add(res.datastoreId!);
            }
            answered++;
          } catch (err) {
            // Conflicts (a lock still held, a version moved on) are the service working; anything else means it is gone.
            if (!['ConflictException', 'ServiceQuotaExceededException'].includes((err as Error).name)) {
              killedInFlight++;
              return;
            }
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      };
      const workers = [0, 1, 2, 3].map(worker);
      await waitFor(async () => answered, (a) => a >= plan.killAfter, 30_000, 'writes to be answered');
      await service.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      answeredTotal += answered;
      client.destroy();

      service = await spawnLocalService(dataDir);
      client = sdkClient(service, { maxAttempts: 1 });
      await checkInvariants(client, datastoreId, arn, acked);
    }
    client.destroy();
    console.log(`crash loop: ${answeredTotal} acknowledged writes across ${CYCLES} kills, ${killedInFlight} requests cut by a kill; every invariant held after each restart`);
    expect(answeredTotal).toBeGreaterThanOrEqual(CYCLES);
  }, 600_000);
});
