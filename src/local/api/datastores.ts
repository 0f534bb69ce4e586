/** CreateDatastore, GetDatastore, ListDatastores, DeleteDatastore (shared/healthimaging-api.md §1.2, §1.7). */
import { z } from 'zod';
import { conflict, ServiceError } from '../errors.js';
import type { Route } from '../http.js';
import { nowSeconds, type DatastoreRecord } from '../store/records.js';
import * as v from '../validation.js';
import {
  compareKeys,
  datastoreArn,
  findDatastore,
  fingerprint,
  newId,
  paginate,
  parseInput,
  parseJsonBody,
  queryValue,
  type ServiceContext,
} from './context.js';

const createInput = z.object({
  datastoreName: v.datastoreName.optional(),
  clientToken: v.clientToken.optional(),
  tags: v.tagMap.optional(),
  kmsKeyArn: v.kmsKeyArn.optional(),
  lambdaAuthorizerArn: v.lambdaArn.optional(),
  losslessStorageFormat: v.enumOf(v.LOSSLESS_FORMATS).optional(),
});

const MAX_TAGS = 50;

export function datastoreProperties(record: DatastoreRecord) {
  return {
    datastoreId: record.datastoreId,
    datastoreName: record.datastoreName,
    datastoreStatus: record.datastoreStatus,
    ...(record.kmsKeyArn && { kmsKeyArn: record.kmsKeyArn }),
    ...(record.lambdaAuthorizerArn && { lambdaAuthorizerArn: record.lambdaAuthorizerArn }),
    losslessStorageFormat: record.losslessStorageFormat,
    datastoreArn: record.datastoreArn,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export function datastoreRoutes(service: ServiceContext): Route[] {
  const { store, settings } = service;

  const setStatus = async (datastoreId: string, status: DatastoreRecord['datastoreStatus']) => {
    const current = store.datastore(datastoreId);
    if (current) await store.putDatastore({ ...current, datastoreStatus: status, updatedAt: nowSeconds() });
  };

  return [
    {
      method: 'POST',
      path: '/datastore',
      handler: async (ctx) => {
        const input = parseInput(createInput, parseJsonBody(ctx));
        const clientToken = input.clientToken ?? newId();
        const requestFingerprint = fingerprint({ ...input, clientToken: undefined });
        return store.locks.run('datastores', async () => {
          const previous = store.datastores().find((d) => d.clientToken === clientToken && d.datastoreStatus !== 'DELETED');
          if (previous) {
            if (previous.requestFingerprint !== requestFingerprint) {
              throw conflict(`clientToken ${clientToken} was already used for a different CreateDatastore request.`);
            }
            return { json: { datastoreId: previous.datastoreId, datastoreStatus: previous.datastoreStatus } };
          }
          const live = store.datastores().filter((d) => d.datastoreStatus !== 'DELETED').length;
          if (live >= settings.maxDatastores) {
            throw new ServiceError('ServiceQuotaExceededException', `You have reached the quota of ${settings.maxDatastores} datastores per region. Delete a datastore first.`);
          }
          if (Object.keys(input.tags ?? {}).length > MAX_TAGS) throw v.tooManyTags(MAX_TAGS);
          const datastoreId = newId();
          const now = nowSeconds();
          const record: DatastoreRecord = {
            datastoreId,
            datastoreName: input.datastoreName ?? `datastore-${datastoreId.slice(0, 8)}`,
            datastoreStatus: 'CREATING',
            datastoreArn: datastoreArn(settings, ctx.identity.region, datastoreId),
            region: ctx.identity.region,
            createdAt: now,
            updatedAt: now,
            ...(input.kmsKeyArn && { kmsKeyArn: input.kmsKeyArn }),
            ...(input.lambdaAuthorizerArn && { lambdaAuthorizerArn: input.lambdaAuthorizerArn }),
            losslessStorageFormat: input.losslessStorageFormat ?? 'HTJ2K',
            clientToken,
            requestFingerprint,
            tags: input.tags ?? {},
          };
          await store.putDatastore(record);
          service.later(() => activateDatastore(service, datastoreId));
          return { json: { datastoreId, datastoreStatus: record.datastoreStatus } };
        });
      },
    },
    {
      method: 'GET',
      path: '/datastore/{datastoreId}',
      handler: async (ctx) => {
        const { datastoreId } = parseInput(z.object({ datastoreId: v.datastoreId }), ctx.params);
        const record = store.datastore(datastoreId);
        if (!record) throw new ServiceError('ResourceNotFoundException', `Datastore ${datastoreId} does not exist.`);
        return { json: { datastoreProperties: datastoreProperties(record) } };
      },
    },
    {
      method: 'GET',
      path: '/datastore',
      handler: async (ctx) => {
        const query = parseInput(
          z.object({
            datastoreStatus: v.enumOf(v.DATASTORE_STATUS).optional(),
            nextToken: v.nextToken.optional(),
            maxResults: v.maxResults.optional(),
          }),
          { datastoreStatus: queryValue(ctx, 'datastoreStatus'), nextToken: queryValue(ctx, 'nextToken'), maxResults: queryValue(ctx, 'maxResults') },
        );
        const matching = store.datastores().filter((d) => !query.datastoreStatus || d.datastoreStatus === query.datastoreStatus);
        const { page, nextToken } = paginate(matching, {
          key: (d) => d.createdAt,
          id: (d) => d.datastoreId,
          compare: compareKeys,
          query: { status: query.datastoreStatus },
          nextToken: query.nextToken,
          maxResults: query.maxResults ?? 50,
        });
        return {
          json: {
            datastoreSummaries: page.map((d) => {
              const { kmsKeyArn: _k, lambdaAuthorizerArn: _l, losslessStorageFormat: _f, ...summary } = datastoreProperties(d);
              return summary;
            }),
            ...(nextToken && { nextToken }),
          },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/datastore/{datastoreId}',
      handler: async (ctx) => {
        const { datastoreId } = parseInput(z.object({ datastoreId: v.datastoreId }), ctx.params);
        return store.locks.run(`datastore:${datastoreId}`, async () => {
          const record = findDatastore(service, datastoreId);
          if (record.datastoreStatus !== 'ACTIVE' && record.datastoreStatus !== 'CREATE_FAILED') {
            throw conflict(`Datastore ${datastoreId} is ${record.datastoreStatus} and cannot be deleted now.`);
          }
          const liveImageSets = store.imageSetCount(datastoreId, (r) => r.imageSetState !== 'DELETED');
          if (liveImageSets > 0) {
            throw conflict(`Datastore ${datastoreId} still contains ${liveImageSets} image set(s). Delete all image sets before deleting the datastore.`);
          }
          const running = [...store.jobs(datastoreId)].filter((j) => j.jobStatus === 'SUBMITTED' || j.jobStatus === 'IN_PROGRESS');
          if (running.length > 0) throw conflict(`Datastore ${datastoreId} has ${running.length} import job(s) in progress.`);
          await setStatus(datastoreId, 'DELETING');
          service.later(() => finishDatastoreDeletion(service, datastoreId));
          return { json: { datastoreId, datastoreStatus: 'DELETING' } };
        });
      },
    },
  ];
}

export async function activateDatastore(service: ServiceContext, datastoreId: string): Promise<void> {
  const current = service.store.datastore(datastoreId);
  if (current?.datastoreStatus === 'CREATING') {
    await service.store.putDatastore({ ...current, datastoreStatus: 'ACTIVE', updatedAt: nowSeconds() });
  }
}

export async function finishDatastoreDeletion(service: ServiceContext, datastoreId: string): Promise<void> {
  const current = service.store.datastore(datastoreId);
  if (current?.datastoreStatus !== 'DELETING') return;
  await service.store.purgeDatastoreData(datastoreId);
  await service.store.putDatastore({ ...current, datastoreStatus: 'DELETED', updatedAt: nowSeconds() });
}
