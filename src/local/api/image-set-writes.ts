/**
 * DeleteImageSet, CopyImageSet and UpdateImageSetMetadata (spec §3.2–§3.4).
 *
 * Every change is durable before it is answered: the new document and the record (LOCKED, with the state it
 * will reach in `pending`) are written first, then the 200 goes out, and the lock is released after the transition
 * delay, or at the next start if the process stopped first. So an answered change is never lost, and an
 * unanswered one leaves no trace. Writes to one image set are serialised, and `latestVersionId` is checked inside
 * that critical section: of N racing updates with the same version, exactly one wins.
 */
import { z } from 'zod';
import type { ImageSetMetadataDocument } from '../../dicom/types.js';
import { applyMetadataUpdate, UpdateFailed, UpdateRejected, type MetadataUpdate } from '../../dicom/update.js';
import { conflict, notFound, ServiceError, validationError } from '../errors.js';
import type { Route } from '../http.js';
import { currentDocumentVersion } from '../organize.js';
import { nowSeconds, type ImageSetRecord, type PendingTransition, type VersionRecord } from '../store/records.js';
import * as v from '../validation.js';
import { activeDatastore, findImageSet, newId, parseInput, parseJsonBody, queryValue, type ServiceContext } from './context.js';
import { imageSetArn } from './image-sets.js';
import { searchTagsOf } from './search.js';

const IMAGE_SET_PATH = '/datastore/{datastoreId}/imageSet/{imageSetId}';
export const MAX_FRAMES_PER_COPY = 1000;
/** UpdateImageSetMetadata payload quota (spec §3.6). */
export const MAX_UPDATE_PAYLOAD_BYTES = 10 * 1024;

/** A primary image set that is not deleted or being deleted. */
export function isLivePrimary(record: ImageSetRecord): boolean {
  return record.isPrimary && record.imageSetState !== 'DELETED' && record.pending?.kind !== 'delete';
}

export function assertWritable(record: ImageSetRecord): void {
  if (record.imageSetState === 'LOCKED') {
    throw conflict(`Image set ${record.imageSetId} is LOCKED (${record.imageSetWorkflowStatus}); retry when it is ACTIVE again.`);
  }
}

export function assertLatest(record: ImageSetRecord, given: string, field: string): void {
  if (given !== record.latestVersionId) {
    throw conflict(`${field} ${given} is not the latest version of image set ${record.imageSetId}: the latest is ${record.latestVersionId}. Read the image set again and retry with ${field}=${record.latestVersionId}.`);
  }
}

/** Applies a pending transition: releases the lock into its final state, or completes a deletion. */
export async function finishPending(service: ServiceContext, datastoreId: string, imageSetId: string): Promise<void> {
  const { store } = service;
  await store.locks.run(`imageSet:${imageSetId}`, async () => {
    const record = store.imageSet(datastoreId, imageSetId);
    const pending = record?.pending;
    if (!record || !pending) return;
    if (pending.kind === 'delete') {
      await store.removeImageSet(datastoreId, imageSetId);
      return;
    }
    const { pending: _done, ...rest } = record;
    const stillLatest = record.latestVersionId === pending.versionId;
    await store.putImageSet({
      ...rest,
      imageSetState: 'ACTIVE',
      ...(stillLatest && { imageSetWorkflowStatus: pending.imageSetWorkflowStatus, message: pending.message }),
      updatedAt: nowSeconds(),
    });
  });
}

/** Locks `record` into a pending transition, durably, and schedules its release. */
async function lockWith(service: ServiceContext, record: ImageSetRecord, workflow: ImageSetRecord['imageSetWorkflowStatus'], pending: PendingTransition): Promise<ImageSetRecord> {
  const locked: ImageSetRecord = { ...record, imageSetState: 'LOCKED', imageSetWorkflowStatus: workflow, pending, updatedAt: nowSeconds() };
  await service.store.putImageSet(locked);
  service.later(() => finishPending(service, record.datastoreId, record.imageSetId));
  return locked;
}

/** A new version record appended to `record`, with its document and final status. */
function appendVersion(record: ImageSetRecord, version: Omit<VersionRecord, 'createdAt' | 'updatedAt' | 'imageSetState' | 'isPrimary'> & { isPrimary?: boolean }): ImageSetRecord {
  const now = nowSeconds();
  const full: VersionRecord = { createdAt: now, updatedAt: now, imageSetState: 'ACTIVE', isPrimary: version.isPrimary ?? record.isPrimary, ...version };
  return {
    ...record,
    latestVersionId: full.versionId,
    versions: [...record.versions, full],
    updatedAt: now,
    ...(full.searchTags && { searchTags: full.searchTags }),
  };
}

const nextVersion = (record: ImageSetRecord) => String(Number(record.latestVersionId) + 1);

function copyProperties(record: ImageSetRecord) {
  return {
    imageSetId: record.imageSetId,
    latestVersionId: record.latestVersionId,
    imageSetState: record.imageSetState,
    imageSetWorkflowStatus: record.imageSetWorkflowStatus,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    imageSetArn: record.imageSetArn,
  };
}

// ---- copy -------------------------------------------------------------------------------------------------------

const copyBody = z.object({
  sourceImageSet: z.object({
    latestVersionId: v.versionId,
    DICOMCopies: z.object({ copiableAttributes: z.string().min(1).max(260_000, 'Member must have length less than or equal to 260000') }).optional(),
  }),
  destinationImageSet: z.object({ imageSetId: v.imageSetId, latestVersionId: v.versionId }).optional(),
});

const copiableSchema = z.object({
  SchemaVersion: z.union([z.string(), z.number()]).optional(),
  Study: z.object({
    Series: z.record(z.string(), z.object({ Instances: z.record(z.string(), z.object({}).passthrough()).optional() }).passthrough()),
  }),
});

/** The part of `doc` that `copiableAttributes` selects (all of it when undefined). */
export function selectCopy(doc: ImageSetMetadataDocument, copiableAttributes: string | undefined): ImageSetMetadataDocument {
  if (copiableAttributes === undefined) return doc;
  let parsed: z.infer<typeof copiableSchema>;
  try {
    parsed = parseInput(copiableSchema, JSON.parse(copiableAttributes));
  } catch (err) {
    if (err instanceof ServiceError) throw validationError(`copiableAttributes: ${err.message}`);
    throw validationError('copiableAttributes must be a JSON document like {"SchemaVersion":"1.1","Study":{"Series":{"<SeriesInstanceUID>":{"Instances":{"<SOPInstanceUID>":{}}}}}}.');
  }
  const series: ImageSetMetadataDocument['Study']['Series'] = {};
  for (const [seriesUid, selection] of Object.entries(parsed.Study.Series)) {
    const source = doc.Study.Series[seriesUid];
    if (!source) throw validationError(`copiableAttributes: series ${seriesUid} is not in the source image set.`);
    const wanted = selection.Instances ? Object.keys(selection.Instances) : Object.keys(source.Instances);
    const instances: typeof source.Instances = {};
    for (const sop of wanted) {
      const instance = source.Instances[sop];
      if (!instance) throw validationError(`copiableAttributes: instance ${sop} is not in series ${seriesUid} of the source image set.`);
      instances[sop] = instance;
    }
    series[seriesUid] = { DICOM: source.DICOM, Instances: instances };
  }
  return { ...doc, Study: { ...doc.Study, Series: series } };
}

const frameCount = (doc: ImageSetMetadataDocument) =>
  Object.values(doc.Study.Series).reduce((n, s) => n + Object.values(s.Instances).reduce((m, i) => m + i.ImageFrames.length, 0), 0);

/** Why a copy into `destination` cannot merge without force, or undefined when it can. */
function copyMismatch(selected: ImageSetMetadataDocument, destination: ImageSetMetadataDocument): string | undefined {
  const sourceSeries = Object.keys(selected.Study.Series).sort().join(',');
  const destinationSeries = Object.keys(destination.Study.Series).sort().join(',');
  if (sourceSeries !== destinationSeries) return "INVALID_REQUEST:  Series of SourceImageSet and DestinationImageSet don't match.";
  const key = (d: ImageSetMetadataDocument) => JSON.stringify([d.Patient.DICOM.PatientID ?? null, d.Study.DICOM.StudyInstanceUID ?? null]);
  if (key(selected) !== key(destination)) return "INVALID_REQUEST:  Patient or Study of SourceImageSet and DestinationImageSet don't match.";
  return undefined;
}

/** The destination document after merging `selected` into it; with force the destination's levels are kept. */
function mergeCopy(selected: ImageSetMetadataDocument, destination: ImageSetMetadataDocument, force: boolean): ImageSetMetadataDocument {
  const merged: ImageSetMetadataDocument = structuredClone(destination);
  const targetSeries = Object.keys(merged.Study.Series)[0];
  for (const [seriesUid, series] of Object.entries(selected.Study.Series)) {
    // With force, instances join the destination's own series and keep its Patient/Study/Series metadata.
    const key = force && targetSeries !== undefined ? targetSeries : seriesUid;
    const into = (merged.Study.Series[key] ??= { DICOM: series.DICOM, Instances: {} });
    Object.assign(into.Instances, structuredClone(series.Instances));
  }
  return merged;
}

const updateBody = z.object({
  DICOMUpdates: z.object({ updatableAttributes: z.string().optional(), removableAttributes: z.string().optional() }).optional(),
  revertToVersionId: v.versionId.optional(),
});

/** Decodes one base64 DICOMAttribute blob of the update payload into JSON. */
function decodeAttributes(value: string | undefined, field: string): unknown {
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) throw validationError(`DICOMUpdates.${field} must be base64-encoded JSON.`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0) throw validationError(`DICOMUpdates.${field} is empty.`);
  if (bytes.length > MAX_UPDATE_PAYLOAD_BYTES) {
    throw validationError(`DICOMUpdates.${field} is ${bytes.length} bytes; the UpdateImageSetMetadata payload quota is ${MAX_UPDATE_PAYLOAD_BYTES} bytes. Split the change into several updates.`);
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw validationError(`DICOMUpdates.${field} does not decode to valid JSON.`);
  }
}

export function imageSetWriteRoutes(service: ServiceContext): Route[] {
  const { store } = service;
  const target = (params: Record<string, string>) => parseInput(z.object({ datastoreId: v.datastoreId, imageSetId: v.imageSetId }), params);

  return [
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/deleteImageSet`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId } = target(ctx.params);
        return store.locks.run(`imageSet:${imageSetId}`, async () => {
          const record = findImageSet(service, datastoreId, imageSetId);
          assertWritable(record);
          const locked = await lockWith(service, record, 'DELETING', { kind: 'delete' });
          return { json: { datastoreId, imageSetId, imageSetState: locked.imageSetState, imageSetWorkflowStatus: locked.imageSetWorkflowStatus } };
        });
      },
    },
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/updateImageSetMetadata`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId } = target(ctx.params);
        const query = parseInput(z.object({ latestVersion: v.versionId, force: v.queryBoolean.optional(), includeStudyImageSets: v.queryBoolean.optional() }), {
          latestVersion: queryValue(ctx, 'latestVersion'),
          force: queryValue(ctx, 'force'),
          includeStudyImageSets: queryValue(ctx, 'includeStudyImageSets'),
        });
        if (query.includeStudyImageSets) throw validationError('includeStudyImageSets is not supported by the local service.');
        const body = parseInput(updateBody, parseJsonBody(ctx));
        if ((body.DICOMUpdates === undefined) === (body.revertToVersionId === undefined)) {
          throw validationError('updateImageSetMetadataUpdates must set exactly one of DICOMUpdates and revertToVersionId.');
        }
        const update: MetadataUpdate | undefined = body.DICOMUpdates && {
          updatableAttributes: decodeAttributes(body.DICOMUpdates.updatableAttributes, 'updatableAttributes'),
          removableAttributes: decodeAttributes(body.DICOMUpdates.removableAttributes, 'removableAttributes'),
        };
        const force = query.force ?? false;

        return store.locks.run(`imageSet:${imageSetId}`, async () => {
          const record = findImageSet(service, datastoreId, imageSetId);
          assertWritable(record);
          assertLatest(record, query.latestVersion, 'latestVersion');
          const versionId = nextVersion(record);
          const current = await store.readDocument(datastoreId, imageSetId, currentDocumentVersion(record));

          let next: ImageSetMetadataDocument | undefined;
          let failure: string | undefined;
          if (body.revertToVersionId !== undefined) {
            const target_ = record.versions.find((x) => x.versionId === body.revertToVersionId);
            if (!target_) throw notFound(`Version ${body.revertToVersionId} of image set ${imageSetId} does not exist (latest is ${record.latestVersionId}).`);
            next = await store.readDocument(datastoreId, imageSetId, target_.documentVersionId);
          } else {
            try {
              next = applyMetadataUpdate(current, update!, { force });
            } catch (err) {
              if (err instanceof UpdateRejected) throw validationError(err.message);
              if (!(err instanceof UpdateFailed)) throw err;
              failure = err.message;
            }
          }

          let updated: ImageSetRecord;
          if (next) {
            await store.writeDocument(next, versionId);
            updated = appendVersion(record, { versionId, imageSetWorkflowStatus: 'UPDATED', documentVersionId: versionId, searchTags: searchTagsOf(next), ...(force && { forced: true }) });
          } else {
            updated = appendVersion(record, { versionId, imageSetWorkflowStatus: 'UPDATE_FAILED', message: failure, documentVersionId: currentDocumentVersion(record), ...(force && { forced: true }) });
          }
          const locked = await lockWith(service, updated, 'UPDATING', { kind: 'finish', versionId, imageSetWorkflowStatus: next ? 'UPDATED' : 'UPDATE_FAILED', ...(failure && { message: failure }) });
          return {
            json: {
              datastoreId,
              imageSetId,
              latestVersionId: locked.latestVersionId,
              imageSetState: locked.imageSetState,
              imageSetWorkflowStatus: locked.imageSetWorkflowStatus,
              createdAt: locked.createdAt,
              updatedAt: locked.updatedAt,
            },
          };
        });
      },
    },
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/copyImageSet`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId: sourceId } = target(ctx.params);
        const flags = parseInput(z.object({ force: v.queryBoolean.optional(), promoteToPrimary: v.queryBoolean.optional() }), {
          force: queryValue(ctx, 'force'),
          promoteToPrimary: queryValue(ctx, 'promoteToPrimary'),
        });
        const body = parseInput(copyBody, parseJsonBody(ctx));
        const destinationId = body.destinationImageSet?.imageSetId;
        if (destinationId === sourceId) throw validationError('destinationImageSet.imageSetId must differ from the source image set.');
        if (destinationId && flags.promoteToPrimary) {
          throw validationError('promoteToPrimary applies to copies into a new image set; omit destinationImageSet, or copy without promoteToPrimary.');
        }
        const datastore = activeDatastore(service, datastoreId);
        // Lock both image sets in a fixed order so two opposite copies cannot deadlock.
        const keys = [sourceId, destinationId].filter((x): x is string => x !== undefined).sort();
        const runLocked = (fn: () => Promise<{ json: unknown }>) =>
          keys.reduceRight<() => Promise<{ json: unknown }>>((inner, key) => () => store.locks.run(`imageSet:${key}`, inner), fn)();

        return runLocked(async () => {
          const source = findImageSet(service, datastoreId, sourceId);
          assertWritable(source);
          assertLatest(source, body.sourceImageSet.latestVersionId, 'sourceImageSet.latestVersionId');
          const destination = destinationId ? findImageSet(service, datastoreId, destinationId) : undefined;
          if (destination && body.destinationImageSet) {
            assertWritable(destination);
            assertLatest(destination, body.destinationImageSet.latestVersionId, 'destinationImageSet.latestVersionId');
          }
          const sourceDoc = await store.readDocument(datastoreId, sourceId, currentDocumentVersion(source));
          const selected = selectCopy(sourceDoc, body.sourceImageSet.DICOMCopies?.copiableAttributes);
          if (frameCount(selected) > MAX_FRAMES_PER_COPY) {
            throw new ServiceError('ServiceQuotaExceededException', `The copy selects ${frameCount(selected)} image frames; CopyImageSet copies at most ${MAX_FRAMES_PER_COPY}. Select a subset with copiableAttributes.`);
          }
          if (flags.promoteToPrimary) assertNoOtherPrimary(service, datastoreId, selected, sourceId, source.isPrimary);

          const force = flags.force ?? false;
          let destinationRecord: ImageSetRecord;
          if (destination) {
            const destinationDoc = await store.readDocument(datastoreId, destination.imageSetId, currentDocumentVersion(destination));
            const mismatch = force ? undefined : copyMismatch(selected, destinationDoc);
            const versionId = nextVersion(destination);
            if (mismatch) {
              // A failed copy still consumes a version number; the content stays that of the previous version.
              destinationRecord = appendVersion(destination, { versionId, imageSetWorkflowStatus: 'COPY_FAILED', message: mismatch, documentVersionId: currentDocumentVersion(destination), ...(force && { forced: true }) });
              destinationRecord = await lockWith(service, destinationRecord, 'COPYING', { kind: 'finish', versionId, imageSetWorkflowStatus: 'COPY_FAILED', message: mismatch });
            } else {
              await linkFrames(service, datastoreId, sourceId, destination.imageSetId, selected);
              const merged = mergeCopy(selected, destinationDoc, force);
              await store.writeDocument(merged, versionId);
              destinationRecord = appendVersion(destination, { versionId, imageSetWorkflowStatus: 'COPIED', documentVersionId: versionId, searchTags: searchTagsOf(merged), ...(force && { forced: true }) });
              destinationRecord = await lockWith(service, destinationRecord, 'COPYING', { kind: 'finish', versionId, imageSetWorkflowStatus: 'COPIED' });
            }
          } else {
            const copyId = newId();
            await linkFrames(service, datastoreId, sourceId, copyId, selected);
            const doc: ImageSetMetadataDocument = { ...structuredClone(selected), ImageSetID: copyId };
            await store.writeDocument(doc, '1');
            const now = nowSeconds();
            const isPrimary = flags.promoteToPrimary ?? false;
            const searchTags = searchTagsOf(doc);
            destinationRecord = {
              datastoreId,
              imageSetId: copyId,
              imageSetArn: imageSetArn(datastore.datastoreArn, copyId),
              createdAt: now,
              updatedAt: now,
              imageSetState: 'LOCKED',
              imageSetWorkflowStatus: 'COPYING',
              isPrimary,
              latestVersionId: '1',
              storageTier: 'FREQUENT_ACCESS',
              versions: [{ versionId: '1', createdAt: now, updatedAt: now, imageSetState: 'ACTIVE', imageSetWorkflowStatus: 'COPIED', isPrimary, searchTags, documentVersionId: '1', ...(force && { forced: true }) }],
              tags: {},
              searchTags,
              pending: { kind: 'finish', versionId: '1', imageSetWorkflowStatus: 'COPIED' },
            };
            await store.putImageSet(destinationRecord);
            service.later(() => finishPending(service, datastoreId, copyId));
          }
          const lockedSource = await lockWith(service, source, 'COPYING_WITH_READ_ONLY_ACCESS', { kind: 'finish', versionId: source.latestVersionId, imageSetWorkflowStatus: 'COPIED' });
          return { json: { datastoreId, sourceImageSetProperties: copyProperties(lockedSource), destinationImageSetProperties: copyProperties(destinationRecord) } };
        });
      },
    },
  ];
}

async function linkFrames(service: ServiceContext, datastoreId: string, from: string, to: string, doc: ImageSetMetadataDocument): Promise<void> {
  for (const series of Object.values(doc.Study.Series)) {
    for (const instance of Object.values(series.Instances)) {
      for (const frame of instance.ImageFrames) await service.store.linkFrame(datastoreId, from, to, frame.ID);
    }
  }
}

function assertNoOtherPrimary(service: ServiceContext, datastoreId: string, selected: ImageSetMetadataDocument, sourceId: string, sourceIsPrimary: boolean): void {
  const studyUid = selected.Study.DICOM.StudyInstanceUID;
  for (const seriesUid of Object.keys(selected.Study.Series)) {
    for (const record of service.store.imageSets(datastoreId)) {
      if (!isLivePrimary(record)) continue;
      if (record.searchTags.DICOMStudyInstanceUID !== studyUid || record.searchTags.DICOMSeriesInstanceUID !== seriesUid) continue;
      const which = record.imageSetId === sourceId && sourceIsPrimary ? 'the source itself' : record.imageSetId;
      throw conflict(`Series ${seriesUid} already has a primary image set (${which}); copy into it with destinationImageSet instead of promoting.`);
    }
  }
}

