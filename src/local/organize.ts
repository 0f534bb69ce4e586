/**
 * How received instances become image sets (spec §3.1), shared by import jobs and STOW-RS:
 * instances of one series with consistent grouping keys go to the series' primary image set (created, or merged
 * into with a new version); instances whose keys conflict with it go to a new non-primary image set.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImageFrameEntry, ImageSetMetadataDocument, InstanceDocument, ParsedInstance } from '../dicom/types.js';
import { newId, type ServiceContext } from './api/context.js';
import { imageSetArn } from './api/image-sets.js';
import { isLivePrimary } from './api/image-set-writes.js';
import { searchTagsOf } from './api/search.js';
import { syncDirectory } from './store/atomic.js';
import { nowSeconds, type DatastoreRecord, type ImageSetRecord } from './store/records.js';


/** An instance whose frames are already written (fsynced) to staging files, ready to commit. */
export interface StagedInstance {
  /** Where it came from (S3 key for imports, part index for STOW). */
  source: string;
  parsed: Omit<ParsedInstance, 'frameData'>;
  storedTransferSyntaxUID: string;
  frames: Array<{ staged: string; entry: ImageFrameEntry }>;
}

export interface Placement {
  imageSetId: string;
  imageSetVersion: number;
  isPrimary: boolean;
}

/** Attributes that decide whether an instance belongs to a series' primary image set (spec §2.2). */
const GROUPING_KEYS = {
  Patient: ['PatientID'],
  Study: ['StudyInstanceUID', 'StudyDate', 'AccessionNumber', 'StudyID'],
  Series: ['SeriesInstanceUID', 'SeriesNumber'],
} as const;

const norm = (value: unknown) => JSON.stringify(value ?? null);

function signatureOf(patient: Record<string, unknown>, study: Record<string, unknown>, series: Record<string, unknown>): string {
  return [
    ...GROUPING_KEYS.Patient.map((k) => norm(patient[k])),
    ...GROUPING_KEYS.Study.map((k) => norm(study[k])),
    ...GROUPING_KEYS.Series.map((k) => norm(series[k])),
  ].join('|');
}

const instanceSignature = (i: StagedInstance) => signatureOf(i.parsed.patient, i.parsed.study, i.parsed.series);

function documentSignature(doc: ImageSetMetadataDocument, seriesUid: string): string {
  return signatureOf(doc.Patient.DICOM, doc.Study.DICOM, doc.Study.Series[seriesUid]?.DICOM ?? {});
}

function instanceDocument(instance: StagedInstance): InstanceDocument {
  return {
    DICOM: instance.parsed.instance.DICOM,
    DICOMVRs: instance.parsed.instance.DICOMVRs,
    StoredTransferSyntaxUID: instance.storedTransferSyntaxUID,
    ChecksumType: 'DECOMPRESSED',
    ImageFrames: instance.frames.map((f) => f.entry),
  };
}

function newDocument(datastoreId: string, imageSetId: string, first: StagedInstance): ImageSetMetadataDocument {
  return {
    SchemaVersion: '1.1',
    DatastoreID: datastoreId,
    ImageSetID: imageSetId,
    Patient: { DICOM: first.parsed.patient },
    Study: {
      DICOM: first.parsed.study,
      Series: { [first.parsed.seriesInstanceUID]: { DICOM: first.parsed.series, Instances: {} } },
    },
  };
}

/** Commits staged instances into image sets; returns where each source landed. */
export async function placeInstances(service: ServiceContext, datastore: DatastoreRecord, instances: StagedInstance[]): Promise<Map<string, Placement>> {
  const placements = new Map<string, Placement>();
  const bySeries = new Map<string, StagedInstance[]>();
  for (const instance of instances) {
    const key = `${instance.parsed.studyInstanceUID}/${instance.parsed.seriesInstanceUID}`;
    const list = bySeries.get(key) ?? [];
    list.push(instance);
    bySeries.set(key, list);
  }
  for (const [seriesKey, members] of bySeries) {
    // One series at a time across all writers, so two imports cannot both create its primary image set.
    await service.store.locks.run(`series:${datastore.datastoreId}/${seriesKey}`, async () => {
      for (const [imageSetId, group] of await planSeries(service, datastore.datastoreId, members)) {
        const placement = await writeGroup(service, datastore, imageSetId, group.instances, group.isPrimary);
        for (const instance of group.instances) placements.set(instance.source, placement);
      }
    });
  }
  return placements;
}

interface PlannedGroup {
  instances: StagedInstance[];
  isPrimary: boolean;
}

/** Splits one series' instances between its primary image set and new non-primary ones. */
async function planSeries(service: ServiceContext, datastoreId: string, members: StagedInstance[]): Promise<Map<string | undefined, PlannedGroup>> {
  const first = members[0]!;
  const primary = findPrimary(service, datastoreId, first.parsed.studyInstanceUID, first.parsed.seriesInstanceUID);
  const primarySignature = primary
    ? documentSignature(await service.store.readDocument(datastoreId, primary.imageSetId, currentDocumentVersion(primary)), first.parsed.seriesInstanceUID)
    : instanceSignature(first);
  // Key undefined = a new image set; one group per distinct conflicting signature.
  const plan = new Map<string | undefined, PlannedGroup>();
  const conflicts = new Map<string, PlannedGroup>();
  for (const instance of members) {
    const signature = instanceSignature(instance);
    if (signature === primarySignature) {
      const key = primary?.imageSetId;
      const group = plan.get(key) ?? { instances: [], isPrimary: true };
      group.instances.push(instance);
      plan.set(key, group);
    } else {
      const group = conflicts.get(signature) ?? { instances: [], isPrimary: false };
      group.instances.push(instance);
      conflicts.set(signature, group);
    }
  }
  const result = new Map<string | undefined, PlannedGroup>();
  for (const [key, group] of plan) result.set(key, group);
  // Each conflicting group gets its own new non-primary image set: give them distinct placeholder keys.
  let n = 0;
  for (const group of conflicts.values()) result.set(`new:${n++}`, group);
  return result;
}

function findPrimary(service: ServiceContext, datastoreId: string, studyUid: string, seriesUid: string): ImageSetRecord | undefined {
  for (const record of service.store.imageSets(datastoreId)) {
    if (
      isLivePrimary(record) &&
      record.searchTags.DICOMStudyInstanceUID === studyUid &&
      record.searchTags.DICOMSeriesInstanceUID === seriesUid
    ) {
      return record;
    }
  }
  return undefined;
}

export function currentDocumentVersion(record: ImageSetRecord): string {
  return record.versions.find((v) => v.versionId === record.latestVersionId)?.documentVersionId ?? record.latestVersionId;
}

/** Moves the group's staged frames into place and commits a new image set or a new version of an existing one. */
async function writeGroup(
  service: ServiceContext,
  datastore: DatastoreRecord,
  existingId: string | undefined,
  instances: StagedInstance[],
  isPrimary: boolean,
): Promise<Placement> {
  const { store } = service;
  const datastoreId = datastore.datastoreId;
  const existing = existingId && !existingId.startsWith('new:') ? store.imageSet(datastoreId, existingId) : undefined;
  const imageSetId = existing?.imageSetId ?? newId();
  return store.locks.run(`imageSet:${imageSetId}`, async () => {
    const current = existing ? store.imageSet(datastoreId, imageSetId) : undefined;
    const doc = current
      ? await store.readDocument(datastoreId, imageSetId, currentDocumentVersion(current))
      : newDocument(datastoreId, imageSetId, instances[0]!);
    const series = doc.Study.Series[instances[0]!.parsed.seriesInstanceUID]!;

    const framesDir = path.join(store.imageSetDir(datastoreId, imageSetId), 'frames');
    await fs.mkdir(framesDir, { recursive: true });
    for (const instance of instances) {
      for (const frame of instance.frames) {
        await fs.rename(frame.staged, store.framePath(datastoreId, imageSetId, frame.entry.ID, instance.storedTransferSyntaxUID));
      }
      // Re-importing an existing SOP instance replaces it (spec §3.1).
      series.Instances[instance.parsed.sopInstanceUID] = instanceDocument(instance);
    }
    await syncDirectory(framesDir);

    const now = nowSeconds();
    const versionId = current ? String(Number(current.latestVersionId) + 1) : '1';
    const workflow = current ? ('IMPORTED' as const) : ('CREATED' as const);
    await store.writeDocument(doc, versionId);
    const searchTags = searchTagsOf(doc);
    const version = { versionId, createdAt: now, updatedAt: now, imageSetState: 'ACTIVE' as const, imageSetWorkflowStatus: workflow, isPrimary, searchTags, documentVersionId: versionId };
    const record: ImageSetRecord = current
      ? { ...current, updatedAt: now, imageSetWorkflowStatus: workflow, latestVersionId: versionId, versions: [...current.versions, version], searchTags, message: undefined }
      : {
          datastoreId,
          imageSetId,
          imageSetArn: imageSetArn(datastore.datastoreArn, imageSetId),
          createdAt: now,
          updatedAt: now,
          imageSetState: 'ACTIVE',
          imageSetWorkflowStatus: workflow,
          isPrimary,
          latestVersionId: versionId,
          storageTier: 'FREQUENT_ACCESS',
          versions: [version],
          tags: {},
          searchTags,
        };
    await store.putImageSet(record);
    return { imageSetId, imageSetVersion: Number(versionId), isPrimary };
  });
}
