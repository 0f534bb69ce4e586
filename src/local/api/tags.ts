/** TagResource, UntagResource, ListTagsForResource on datastore and image-set ARNs (spec §1.8). */
import { z } from 'zod';
import { notFound } from '../errors.js';
import type { Route } from '../http.js';
import type { Tags } from '../store/records.js';
import * as v from '../validation.js';
import { findDatastore, parseInput, parseJsonBody, type ServiceContext } from './context.js';

const MAX_TAGS = 50;
const ARN_RE = /^arn:[^:]+:medical-imaging:([^:]+):(\d{12}):datastore\/([0-9a-z]{32})(?:\/imageset\/([0-9a-z]{32}))?$/;

interface TaggedResource {
  tags: Tags;
  save(tags: Tags): Promise<void>;
}

function resolve(service: ServiceContext, arn: string): TaggedResource {
  const m = ARN_RE.exec(arn);
  if (!m || m[2] !== service.settings.accountId) throw notFound(`Resource ${arn} does not exist.`);
  const datastoreId = m[3]!;
  const imageSetId = m[4];
  const datastore = findDatastore(service, datastoreId);
  const { store } = service;
  if (imageSetId === undefined) {
    return {
      tags: datastore.tags,
      save: async (tags) => {
        const current = store.datastore(datastoreId) ?? datastore;
        await store.putDatastore({ ...current, tags });
      },
    };
  }
  const imageSet = store.imageSet(datastoreId, imageSetId);
  if (!imageSet || imageSet.imageSetState === 'DELETED') throw notFound(`Resource ${arn} does not exist.`);
  return {
    tags: imageSet.tags,
    save: async (tags) => {
      const current = store.imageSet(datastoreId, imageSetId) ?? imageSet;
      await store.putImageSet({ ...current, tags });
    },
  };
}

const arnParam = (raw: string | undefined) => parseInput(z.object({ resourceArn: v.resourceArn }), { resourceArn: raw }).resourceArn;

export function tagRoutes(service: ServiceContext): Route[] {
  // Tag changes read-modify-write the owning record: serialise them per resource.
  const withResource = <T>(arn: string, fn: (resource: TaggedResource) => Promise<T>) =>
    service.store.locks.run(`tags:${arn}`, () => fn(resolve(service, arn)));

  return [
    {
      method: 'GET',
      path: '/tags/{resourceArn}',
      handler: async (ctx) => {
        const arn = arnParam(ctx.params.resourceArn);
        return { json: { tags: resolve(service, arn).tags } };
      },
    },
    {
      method: 'POST',
      path: '/tags/{resourceArn}',
      handler: async (ctx) => {
        const arn = arnParam(ctx.params.resourceArn);
        const { tags } = parseInput(z.object({ tags: v.tagMap }), parseJsonBody(ctx));
        return withResource(arn, async (resource) => {
          const merged = { ...resource.tags, ...tags };
          if (Object.keys(merged).length > MAX_TAGS) throw v.tooManyTags(MAX_TAGS);
          await resource.save(merged);
          return { json: {} };
        });
      },
    },
    {
      method: 'DELETE',
      path: '/tags/{resourceArn}',
      handler: async (ctx) => {
        const arn = arnParam(ctx.params.resourceArn);
        const raw = ctx.query.tagKeys;
        const keys = parseInput(
          z.object({ tagKeys: z.array(v.tagKey).max(200, 'Member must have length less than or equal to 200') }),
          { tagKeys: raw === undefined ? undefined : Array.isArray(raw) ? raw : [raw] },
        ).tagKeys;
        return withResource(arn, async (resource) => {
          const remaining = { ...resource.tags };
          for (const key of keys) delete remaining[key];
          await resource.save(remaining);
          return { json: {} };
        });
      },
    },
  ];
}
