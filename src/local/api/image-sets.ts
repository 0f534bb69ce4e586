/** GetImageSet, GetImageSetMetadata, GetImageFrame, ListImageSetVersions (spec §1.2, §1.5, §1.6). */
import { z } from 'zod';
import { notFound, type ServiceError } from '../errors.js';
import type { Route } from '../http.js';
import type { ImageSetRecord, VersionRecord } from '../store/records.js';
import * as v from '../validation.js';
import { compareKeys, findImageSet, paginate, parseInput, parseJsonBody, queryValue, type ServiceContext } from './context.js';

const IMAGE_SET_PATH = '/datastore/{datastoreId}/imageSet/{imageSetId}';

export function imageSetArn(datastoreArn: string, imageSetId: string): string {
  return `${datastoreArn}/imageset/${imageSetId}`;
}

/** The version a request addresses: `?version=N`, or the latest. */
export function versionOf(record: ImageSetRecord, versionId: string | undefined): VersionRecord {
  const wanted = versionId ?? record.latestVersionId;
  const version = record.versions.find((x) => x.versionId === wanted);
  if (!version) throw notFound(`Version ${wanted} of image set ${record.imageSetId} does not exist (latest is ${record.latestVersionId}).`);
  return version;
}

/** GetImageSet's shape for one version of an image set. */
export function imageSetProperties(record: ImageSetRecord, version: VersionRecord) {
  const isLatest = version.versionId === record.latestVersionId;
  return {
    datastoreId: record.datastoreId,
    imageSetId: record.imageSetId,
    versionId: version.versionId,
    imageSetState: isLatest ? record.imageSetState : version.imageSetState,
    imageSetWorkflowStatus: isLatest ? record.imageSetWorkflowStatus : version.imageSetWorkflowStatus,
    createdAt: record.createdAt,
    updatedAt: version.updatedAt ?? version.createdAt,
    ...(record.deletedAt !== undefined && { deletedAt: record.deletedAt }),
    ...((isLatest ? record.message : version.message) && { message: isLatest ? record.message : version.message }),
    imageSetArn: record.imageSetArn,
    ...(version.forced && { overrides: { forced: true } }),
    isPrimary: version.isPrimary,
    storageTier: record.storageTier,
  };
}

/** A 404 when the image set was deleted (or is being deleted) after the request looked it up; otherwise undefined. */
function deletedMeanwhile(service: ServiceContext, datastoreId: string, imageSetId: string): ServiceError | undefined {
  const record = service.store.imageSet(datastoreId, imageSetId);
  if (record && record.pending?.kind !== 'delete') return undefined;
  return notFound(`Image set ${imageSetId} was deleted while it was being read.`);
}

const target = (ctx: { params: Record<string, string> }) =>
  parseInput(z.object({ datastoreId: v.datastoreId, imageSetId: v.imageSetId }), ctx.params);

export function imageSetReadRoutes(service: ServiceContext): Route[] {
  const { store } = service;
  const versionQuery = (raw: string | undefined) => parseInput(z.object({ version: v.versionId.optional() }), { version: raw }).version;

  return [
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/getImageSet`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId } = target(ctx);
        const version = versionQuery(queryValue(ctx, 'version'));
        const record = findImageSet(service, datastoreId, imageSetId);
        return { json: imageSetProperties(record, versionOf(record, version)) };
      },
    },
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/getImageSetMetadata`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId } = target(ctx);
        const version = versionQuery(queryValue(ctx, 'version'));
        const record = findImageSet(service, datastoreId, imageSetId);
        const chosen = versionOf(record, version);
        return {
          file: store.documentPath(datastoreId, imageSetId, chosen.documentVersionId),
          ifMissing: () => deletedMeanwhile(service, datastoreId, imageSetId),
          contentType: 'application/json',
          headers: { 'content-encoding': 'gzip' },
        };
      },
    },
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/getImageFrame`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId } = target(ctx);
        const { imageFrameId } = parseInput(z.object({ imageFrameId: v.imageFrameId }), parseJsonBody(ctx));
        findImageSet(service, datastoreId, imageSetId);
        const frame = await store.findFrame(datastoreId, imageSetId, imageFrameId);
        if (!frame) throw notFound(`Image frame ${imageFrameId} does not exist in image set ${imageSetId}.`);
        return { file: frame.path, contentType: frame.contentType };
      },
    },
    {
      method: 'POST',
      path: `${IMAGE_SET_PATH}/listImageSetVersions`,
      handler: async (ctx) => {
        const { datastoreId, imageSetId } = target(ctx);
        const query = parseInput(z.object({ nextToken: v.nextToken.optional(), maxResults: v.maxResults.optional() }), {
          nextToken: queryValue(ctx, 'nextToken'),
          maxResults: queryValue(ctx, 'maxResults'),
        });
        const record = findImageSet(service, datastoreId, imageSetId);
        // Newest first: version IDs are integers, so the key is their numeric value, negated for descending order.
        const { page, nextToken } = paginate(record.versions, {
          key: (x) => -Number(x.versionId),
          id: (x) => x.versionId,
          compare: compareKeys,
          query: { imageSetId },
          nextToken: query.nextToken,
          maxResults: query.maxResults ?? 50,
        });
        return {
          json: {
            imageSetPropertiesList: page.map((version) => {
              const { imageSetWorkflowStatus, ...props } = imageSetProperties(record, version);
              const { datastoreId: _d, imageSetArn: _a, storageTier: _s, ...rest } = props;
              // ListImageSetVersions spells this key with a capital I (spec §0 gotcha 4).
              return { ...rest, ImageSetWorkflowStatus: imageSetWorkflowStatus };
            }),
            ...(nextToken && { nextToken }),
          },
        };
      },
    },
  ];
}
