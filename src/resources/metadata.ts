/**
 * The server's MCP resources: the datastores (one static list, and a resource per datastore) and the full metadata
 * document of an image set, latest or a given version, exactly as HealthImaging stored it.
 *
 * Image sets are never enumerated in resources/list (a datastore can hold millions, and the SDK lists without
 * paging); completion suggests their IDs instead, from a bounded number of pages.
 *
 * Errors follow the 2025-11-25 spec: a malformed URI variable is InvalidParams (-32602), an ID the service does not
 * know is "resource not found" (-32002) with `data.uri`, anything else InternalError (-32603). Each message names
 * what went wrong and the next step, and AWS errors carry their request ID.
 */
import {
  type DatastoreSummary,
  GetDatastoreCommand,
  type MedicalImagingClient,
  paginateListDatastores,
  paginateListImageSetVersions,
  paginateSearchImageSets,
} from '@aws-sdk/client-medical-imaging';
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Variables } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import { ErrorCode, McpError, type ReadResourceResult, type Resource } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { describeError, formatError } from '../aws/errors.js';
import { fetchMetadata } from '../aws/metadata.js';
import { REDACTION_NOTE } from '../dicom/redact.js';
import { datastoreId, imageSetId, versionId } from '../tools/fields.js';
import { DATASTORE_TEMPLATE, DATASTORES_URI, datastoreUri, METADATA_TEMPLATE, VERSION_METADATA_TEMPLATE } from './uris.js';

export interface MetadataResourceDeps {
  client: MedicalImagingClient;
  /** Largest metadata document (decompressed) the server will read; --max-metadata-bytes. */
  maxMetadataBytes: number;
  /** --redact-phi: `client` masks PHI already; the resources say so. */
  redactPhi?: boolean;
}

/** "Resource not found" in the 2025-11-25 spec; the SDK's ErrorCode has no member for it. */
export const RESOURCE_NOT_FOUND = -32002;

/** The API's largest page. */
const PAGE_SIZE = 50;
/** Datastores in the static list and in resources/list (the default quota is 10 per region). */
const MAX_LISTED_DATASTORES = 200;
/** The spec's cap on values per completion response. */
const MAX_COMPLETIONS = 100;
/** Completion runs on every keystroke: scan at most this many pages of image sets or versions. */
const MAX_COMPLETION_PAGES = 4;
/** The SDK gives completion callbacks no cancellation signal, so bound their AWS calls ourselves. */
const COMPLETION_TIMEOUT_MS = 10_000;
const JSON_MIME = 'application/json';
/** Marks resource contents read with --redact-phi. */
const REDACTED_META = { 'healthimaging/phi_redacted': true };

/** Where an agent finds a valid value for each URI variable. */
const WHERE_TO_FIND: Record<string, string> = {
  datastoreId: 'read healthimaging://datastores or call list_datastores',
  imageSetId: 'call search_image_sets',
  versionId: 'call list_image_set_versions',
};

const datastoreVariables = z.object({ datastoreId });
const imageSetVariables = z.object({ datastoreId, imageSetId });
const metadataVariables = z.object({ datastoreId, imageSetId, versionId: versionId.optional() });

export function registerMetadataResources(server: McpServer, deps: MetadataResourceDeps): void {
  const { client } = deps;

  const completeDatastoreId = (value: string) =>
    suggest(async (signal) => {
      const { items } = await listDatastores(client, signal);
      const byId = items.filter((d) => d.datastoreId!.startsWith(value));
      const needle = value.toLowerCase();
      const byName = items.filter((d) => !d.datastoreId!.startsWith(value) && (d.datastoreName ?? '').toLowerCase().startsWith(needle));
      return [...byId, ...byName].map((d) => d.datastoreId!);
    });

  const completeImageSetId = (value: string, context?: { arguments?: Record<string, string> }) => {
    const known = datastoreVariables.safeParse(context?.arguments ?? {});
    if (!known.success) return [];
    return suggest(async (signal) => {
      const pages = paginateSearchImageSets({ client, pageSize: PAGE_SIZE }, { datastoreId: known.data.datastoreId }, { abortSignal: signal });
      const { items } = await firstItems(pages, (page) => page.imageSetsMetadataSummaries, {
        limit: MAX_COMPLETIONS,
        maxPages: MAX_COMPLETION_PAGES,
        keep: (s) => s.imageSetId!.startsWith(value),
      });
      return items.map((s) => s.imageSetId!);
    });
  };

  const completeVersionId = (value: string, context?: { arguments?: Record<string, string> }) => {
    const known = imageSetVariables.safeParse(context?.arguments ?? {});
    if (!known.success) return [];
    return suggest(async (signal) => {
      const pages = paginateListImageSetVersions({ client, pageSize: PAGE_SIZE }, known.data, { abortSignal: signal });
      const { items } = await firstItems(pages, (page) => page.imageSetPropertiesList, {
        limit: MAX_COMPLETIONS,
        maxPages: MAX_COMPLETION_PAGES,
        keep: (v) => v.versionId!.startsWith(value),
      });
      return items.map((v) => v.versionId!);
    });
  };

  server.registerResource(
    'datastores',
    DATASTORES_URI,
    {
      title: 'HealthImaging datastores',
      description: `The datastores of this account and region (at most ${MAX_LISTED_DATASTORES}): ID, name, status, ARN, creation time, and the URI of each.`,
      mimeType: JSON_MIME,
    },
    (uri, extra) =>
      reading(uri, async () => {
        const { items, complete } = await listDatastores(client, extra.signal);
        return json(uri, deps.redactPhi, {
          datastores: items.map((d) => ({ ...d, uri: datastoreUri(d.datastoreId!) })),
          ...(!complete && {
            truncated: true,
            note: `Only the first ${MAX_LISTED_DATASTORES} datastores are listed; call list_datastores with next_token for the rest.`,
          }),
        });
      }),
  );

  server.registerResource(
    'datastore',
    new ResourceTemplate(DATASTORE_TEMPLATE, {
      list: (extra) =>
        reading(new URL(DATASTORES_URI), async () => {
          const { items } = await listDatastores(client, extra.signal);
          return { resources: items.map(listedDatastore) };
        }),
      complete: { datastoreId: completeDatastoreId },
    }),
    {
      title: 'HealthImaging datastore',
      description: 'One datastore as GetDatastore returns it: name, status, ARN, storage format, encryption key, timestamps.',
      mimeType: JSON_MIME,
    },
    (uri, variables, extra) =>
      reading(uri, async () => {
        const input = parseVariables(uri, variables, datastoreVariables);
        const { datastoreProperties } = await client.send(new GetDatastoreCommand(input), { abortSignal: extra.signal });
        return json(uri, deps.redactPhi, datastoreProperties);
      }),
  );

  const readMetadata = (uri: URL, variables: Variables, signal: AbortSignal) =>
    reading(uri, async () => {
      const ref = parseVariables(uri, variables, metadataVariables);
      // Only the text is needed unless redacting: the document is not parsed (a 50 MB one takes several times that).
      const read = await fetchMetadata(client, ref, { maxBytes: deps.maxMetadataBytes, signal });
      if (!deps.redactPhi) return { contents: [{ uri: uri.href, mimeType: JSON_MIME, text: read.text }] };
      // The note leads the document, so that a reader meets it before any masked value.
      return { contents: [{ uri: uri.href, mimeType: JSON_MIME, text: JSON.stringify({ PHIRedacted: REDACTION_NOTE, ...read.document }), _meta: REDACTED_META }] };
    });

  const metadataDescription = (which: string) =>
    (deps.redactPhi
      ? `The full DICOM metadata document of ${which} (GetImageSetMetadata, decompressed), with patient-identifying attributes and private tags masked (--redact-phi; its PHIRedacted member says so). `
      : `The full DICOM metadata document of ${which}, byte for byte as HealthImaging stores it (GetImageSetMetadata, decompressed). `) +
    `Can be large (up to ${deps.maxMetadataBytes} bytes are read); the get_image_set_metadata tool returns a compact summary.`;

  server.registerResource(
    'image-set-metadata',
    new ResourceTemplate(METADATA_TEMPLATE, {
      list: undefined,
      complete: { datastoreId: completeDatastoreId, imageSetId: completeImageSetId },
    }),
    { title: 'Image set metadata (latest version)', description: metadataDescription('the latest version of an image set'), mimeType: JSON_MIME },
    (uri, variables, extra) => readMetadata(uri, variables, extra.signal),
  );

  server.registerResource(
    'image-set-version-metadata',
    new ResourceTemplate(VERSION_METADATA_TEMPLATE, {
      list: undefined,
      complete: { datastoreId: completeDatastoreId, imageSetId: completeImageSetId, versionId: completeVersionId },
    }),
    { title: 'Image set metadata (given version)', description: metadataDescription('one version of an image set'), mimeType: JSON_MIME },
    (uri, variables, extra) => readMetadata(uri, variables, extra.signal),
  );
}

// ---- AWS -------------------------------------------------------------------------------------------------------

function listDatastores(client: MedicalImagingClient, signal: AbortSignal) {
  const pages = paginateListDatastores({ client, pageSize: PAGE_SIZE }, {}, { abortSignal: signal });
  return firstItems(pages, (page) => page.datastoreSummaries, {
    limit: MAX_LISTED_DATASTORES,
    maxPages: Math.ceil(MAX_LISTED_DATASTORES / PAGE_SIZE),
  });
}

/**
 * Walks pages until `limit` items pass `keep` or `maxPages` pages were read, without requesting a page it will not
 * use. `complete` says whether every item was seen. Exported for its tests.
 */
export async function firstItems<Page extends { nextToken?: string }, Item>(
  pages: AsyncIterable<Page>,
  itemsOf: (page: Page) => Item[] | undefined,
  options: { limit: number; maxPages: number; keep?: (item: Item) => boolean },
): Promise<{ items: Item[]; complete: boolean }> {
  const { limit, maxPages, keep = () => true } = options;
  const items: Item[] = [];
  let pagesRead = 0;
  for await (const page of pages) {
    pagesRead += 1;
    items.push(...(itemsOf(page) ?? []).filter(keep));
    if (items.length > limit) return { items: items.slice(0, limit), complete: false };
    if (!page.nextToken) return { items, complete: true };
    if (items.length === limit || pagesRead >= maxPages) return { items, complete: false };
  }
  return { items, complete: true };
}

// ---- MCP shapes and errors -------------------------------------------------------------------------------------

function listedDatastore(d: DatastoreSummary): Resource {
  const name = d.datastoreName || d.datastoreId!;
  return {
    uri: datastoreUri(d.datastoreId!),
    name,
    title: `Datastore ${name}`,
    description: `${d.datastoreStatus ?? 'UNKNOWN'} datastore ${d.datastoreId}`,
    mimeType: JSON_MIME,
  };
}

/** Pretty JSON; Dates become ISO 8601 strings through Date#toJSON. Datastores hold no DICOM values, only the flag. */
function json(uri: URL, redacted: boolean | undefined, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: JSON_MIME, text: JSON.stringify(value, null, 2), ...(redacted && { _meta: REDACTED_META }) }] };
}

/** The URI's variables, checked against the API's ID patterns before anything is sent to AWS. */
function parseVariables<T extends z.ZodType>(uri: URL, variables: Variables, schema: T): z.infer<T> {
  const parsed = schema.safeParse(variables);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const where = WHERE_TO_FIND[name];
    return `${name} ${JSON.stringify(variables[name])} is not valid: ${issue.message}${where ? `; to find one, ${where}` : ''}.`;
  });
  throw new McpError(ErrorCode.InvalidParams, `Invalid resource URI ${uri.href}: ${problems.join(' ')}`, { uri: uri.href });
}

/** Runs a resource request, turning every failure into the McpError the client should see. */
async function reading<T>(uri: URL, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof McpError) throw err;
    const described = describeError(err);
    const data = { uri: uri.href };
    switch (described.name) {
      case 'DatastoreNotAllowed':
        throw new McpError(ErrorCode.InvalidParams, `Refused: ${uri.href}\n${formatError(described)}`, data);
      case 'ResourceNotFoundException':
        throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri.href}\n${formatError(described)}`, data);
      case 'ValidationException':
        throw new McpError(ErrorCode.InvalidParams, `HealthImaging rejected the request for ${uri.href}\n${formatError(described)}`, data);
      default:
        throw new McpError(ErrorCode.InternalError, `Could not read ${uri.href}\n${formatError(described)}`, data);
    }
  }
}

/** Errors that mean "the IDs typed so far lead nowhere" (unknown, not ACTIVE, or outside --datastore-ids), not a failure. */
const NOTHING_TO_SUGGEST = new Set(['ResourceNotFoundException', 'ConflictException', 'ValidationException', 'DatastoreNotAllowed']);

/**
 * Runs a completion under a timeout. IDs that lead nowhere have nothing to complete; any other failure (credentials,
 * throttling, a dead endpoint) is reported rather than shown as "no suggestions".
 */
async function suggest(run: (signal: AbortSignal) => Promise<string[]>): Promise<string[]> {
  const signal = AbortSignal.timeout(COMPLETION_TIMEOUT_MS);
  try {
    return (await run(signal)).slice(0, MAX_COMPLETIONS);
  } catch (err) {
    const described = describeError(err);
    if (NOTHING_TO_SUGGEST.has(described.name)) return [];
    const message = signal.aborted ? `HealthImaging did not answer within ${COMPLETION_TIMEOUT_MS / 1000} s.` : formatError(described);
    throw new McpError(ErrorCode.InternalError, `Completion failed: ${message}`);
  }
}
