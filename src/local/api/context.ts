/** What every API handler of the local service works with, and the helpers they share. */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { conflict, notFound, validationError } from '../errors.js';
import type { RequestContext } from '../http.js';
import type { DatastoreRecord, ImageSetRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { parseInput } from '../validation.js';

export interface LocalServiceSettings {
  accountId: string;
  dataDir: string;
  /** Root of the `s3://bucket/key` → `<dataDir>/s3/bucket/key` mapping used by import jobs. */
  s3Root: string;
  /** Delay of the asynchronous transitions (CREATING → ACTIVE, LOCKED → ACTIVE, DELETING → DELETED). */
  transitionDelayMs: number;
  maxDatastores: number;
  maxConcurrentImportJobs: number;
}

export interface ImportScheduler {
  submit(datastoreId: string, jobId: string): void;
}

export interface ServiceContext {
  store: Store;
  settings: LocalServiceSettings;
  imports: ImportScheduler;
  /** Runs `fn` after the configured transition delay; tracked so the service can finish it on close. */
  later(fn: () => Promise<void>): void;
  log(message: string): void;
}

/** A HealthImaging resource ID: 32 lowercase hex characters. */
export const newId = () => randomBytes(16).toString('hex');

export function parseJsonBody(ctx: RequestContext): unknown {
  if (ctx.body.length === 0) return {};
  try {
    return JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw validationError('The request body is not valid JSON.');
  }
}

/** Fingerprint of a request's parameters, to tell an idempotent retry from a reused clientToken. */
export const fingerprint = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

export function datastoreArn(settings: LocalServiceSettings, region: string, datastoreId: string): string {
  return `arn:aws:medical-imaging:${region}:${settings.accountId}:datastore/${datastoreId}`;
}

/** An existing datastore that is not DELETED. */
export function findDatastore(service: ServiceContext, datastoreId: string): DatastoreRecord {
  const record = service.store.datastore(datastoreId);
  if (!record || record.datastoreStatus === 'DELETED') throw notFound(`Datastore ${datastoreId} does not exist.`);
  return record;
}

/** An ACTIVE datastore: only those accept imports and image-set operations. */
export function activeDatastore(service: ServiceContext, datastoreId: string): DatastoreRecord {
  const record = findDatastore(service, datastoreId);
  if (record.datastoreStatus !== 'ACTIVE') {
    throw conflict(`Datastore ${datastoreId} is ${record.datastoreStatus}; it must be ACTIVE for this operation.`);
  }
  return record;
}

/** An image set that exists and is not DELETED, in an ACTIVE datastore. */
export function findImageSet(service: ServiceContext, datastoreId: string, imageSetId: string): ImageSetRecord {
  activeDatastore(service, datastoreId);
  const record = service.store.imageSet(datastoreId, imageSetId);
  if (!record || record.imageSetState === 'DELETED') throw notFound(`Image set ${imageSetId} does not exist in datastore ${datastoreId}.`);
  return record;
}

// ---- paging ---------------------------------------------------------------------------------------------------

const tokenSchema = z.object({ k: z.union([z.string(), z.number()]), id: z.string(), q: z.string() });

/**
 * Keyset pagination over `items` in the order `compare` gives (on each item's sort key, then ID): the token names
 * the last item returned and the query it belongs to, so pages stay correct while items are added or removed. No
 * token is returned with the last page.
 */
export function paginate<T>(
  items: Iterable<T>,
  options: {
    key: (item: T) => string | number;
    id: (item: T) => string;
    /** The order of the pages: negative when a sorts before b. */
    compare: (a: { k: string | number; id: string }, b: { k: string | number; id: string }) => number;
    query: unknown;
    nextToken: string | undefined;
    maxResults: number;
  },
): { page: T[]; nextToken?: string } {
  const keyOf = (item: T) => ({ k: options.key(item), id: options.id(item) });
  const sorted = [...items].sort((a, b) => options.compare(keyOf(a), keyOf(b)));
  const queryHash = fingerprint(options.query).slice(0, 16);
  let start = 0;
  if (options.nextToken !== undefined) {
    let decoded: z.infer<typeof tokenSchema>;
    try {
      decoded = tokenSchema.parse(JSON.parse(Buffer.from(options.nextToken, 'base64url').toString('utf8')));
    } catch {
      throw validationError('Invalid nextToken: pass the nextToken of a previous response unchanged.');
    }
    if (decoded.q !== queryHash) throw validationError('Invalid nextToken: it belongs to a request with different parameters.');
    const after = { k: decoded.k, id: decoded.id };
    start = sorted.findIndex((item) => options.compare(keyOf(item), after) > 0);
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, start + options.maxResults);
  const last = page[page.length - 1];
  if (start + options.maxResults >= sorted.length || last === undefined) return { page };
  const token = { k: options.key(last), id: options.id(last), q: queryHash };
  return { page, nextToken: Buffer.from(JSON.stringify(token)).toString('base64url') };
}

export function compareKeys(a: { k: string | number; id: string }, b: { k: string | number; id: string }): number {
  if (a.k !== b.k) return a.k < b.k ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One query parameter; arrays (repeated keys) are rejected where the API expects one value. */
export function queryValue(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw validationError(`Query parameter '${name}' must be given once.`);
  return value;
}

export { parseInput };
