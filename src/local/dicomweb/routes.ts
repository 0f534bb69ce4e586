/**
 * The DICOMweb endpoints of the local service (spec §4.1), all under `/datastore/{datastoreId}`. HealthImaging
 * serves them on `dicom-medical-imaging.{region}.amazonaws.com`; the local service serves them on its one port
 * beside the cloud-native API, whose paths none of these collide with.
 *
 * The handler modules load on first use: they bring in dcmjs and the codecs, which the service does not need to
 * start.
 */
import { z } from 'zod';
import { parseInput, queryValue, type ServiceContext } from '../api/context.js';
import type { RequestContext, Route } from '../http.js';
import * as v from '../validation.js';
import { DicomwebCatalog } from './catalog.js';
import type { SearchLevel } from './qido.js';

/** HealthImaging accepts up to 1 GB per STOW-RS request (spec §4.2). */
export const DEFAULT_MAX_STORE_BYTES = 1024 ** 3;

export interface DicomwebOptions {
  /** Largest STOW-RS request body in bytes (HealthImaging: 1 GB). */
  maxStoreBytes: number;
}

const uid = z
  .string()
  .max(64, 'Member must have length less than or equal to 64')
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'Member must be a DICOM UID (digits and dots)');

const paths = {
  datastore: z.object({ datastoreId: v.datastoreId }),
  study: z.object({ datastoreId: v.datastoreId, study: uid }),
  series: z.object({ datastoreId: v.datastoreId, study: uid, series: uid }),
  instance: z.object({ datastoreId: v.datastoreId, study: uid, series: uid, sop: uid }),
};

/** The image set a retrieval targets: `?imageSetId=` (any image set), else the primary ones. */
function imageSetIdOf(ctx: RequestContext): string | undefined {
  return parseInput(z.object({ imageSetId: v.imageSetId.optional() }), { imageSetId: queryValue(ctx, 'imageSetId') }).imageSetId;
}

const BASE = '/datastore/{datastoreId}';
const SERIES = `${BASE}/studies/{study}/series/{series}`;
const INSTANCE = `${SERIES}/instances/{sop}`;

export function dicomwebRoutes(service: ServiceContext, options: DicomwebOptions): Route[] {
  const catalog = new DicomwebCatalog(service);
  const qido = () => import('./qido.js');
  const wado = () => import('./wado.js');
  const stow = () => import('./stow.js');

  const search = (level: SearchLevel, path: string, schema: z.ZodType<{ datastoreId: string; study?: string; series?: string }>): Route => ({
    method: 'GET',
    path,
    handler: async (ctx) => (await qido()).search(catalog, ctx, { level, ...parseInput(schema, ctx.params) }),
  });
  const instancePath = (ctx: RequestContext) => ({ ...parseInput(paths.instance, ctx.params), imageSetId: imageSetIdOf(ctx) });

  return [
    {
      method: 'POST',
      path: `${BASE}/studies`,
      streaming: true,
      handler: async (ctx) => (await stow()).store(service, ctx, parseInput(paths.datastore, ctx.params), options.maxStoreBytes),
    },
    {
      method: 'POST',
      path: `${BASE}/studies/{study}`,
      streaming: true,
      handler: async (ctx) => (await stow()).store(service, ctx, parseInput(paths.study, ctx.params), options.maxStoreBytes),
    },
    search('study', `${BASE}/studies`, paths.datastore),
    search('series', `${BASE}/series`, paths.datastore),
    search('series', `${BASE}/studies/{study}/series`, paths.study),
    search('instance', `${BASE}/instances`, paths.datastore),
    search('instance', `${BASE}/studies/{study}/instances`, paths.study),
    search('instance', `${SERIES}/instances`, paths.series),
    {
      method: 'GET',
      path: `${SERIES}/metadata`,
      handler: async (ctx) => (await wado()).seriesMetadata(catalog, ctx, { ...parseInput(paths.series, ctx.params), imageSetId: imageSetIdOf(ctx) }),
    },
    { method: 'GET', path: INSTANCE, handler: async (ctx) => (await wado()).instance(service, catalog, ctx, instancePath(ctx)) },
    { method: 'GET', path: `${INSTANCE}/metadata`, handler: async (ctx) => (await wado()).instanceMetadata(catalog, ctx, instancePath(ctx)) },
    {
      method: 'GET',
      path: `${INSTANCE}/frames/{frames}`,
      handler: async (ctx) => (await wado()).frames(service, catalog, ctx, instancePath(ctx), ctx.params.frames ?? ''),
    },
    {
      method: 'GET',
      path: `${INSTANCE}/bulkdata/{hash}`,
      handler: async (ctx) => (await wado()).bulkData(catalog, ctx, instancePath(ctx), ctx.params.hash ?? ''),
    },
  ];
}
