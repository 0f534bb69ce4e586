/**
 * The MCP resources through a real MCP client, backed by the real local service through the real AWS SDK. The
 * metadata document is checked byte for byte against what the real AWS CLI writes for the same image set.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MedicalImagingClient, UpdateImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { firstItems, RESOURCE_NOT_FOUND, registerMetadataResources } from '../../src/resources/metadata.js';
import { DATASTORE_TEMPLATE, DATASTORES_URI, datastoreUri, METADATA_TEMPLATE, metadataUri, VERSION_METADATA_TEMPLATE } from '../../src/resources/uris.js';
import { aws, awsCliAvailable } from '../helpers/aws-cli.js';
import { attributesOf, ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore, imageSetsOfSeries, importFiles, waitActive } from '../helpers/import.js';
import { REGION, rejection, sdkClient, startTestService, tempDir, type TestService } from '../helpers/local.js';

const MAX_METADATA_BYTES = 10_000_000;
const UNKNOWN_ID = '0'.repeat(32);

interface Connected {
  mcp: Client;
  close(): Promise<void>;
}

/** A plain McpServer with only the resources, and a real MCP client talking to it in memory. */
async function connect(client: MedicalImagingClient, maxMetadataBytes = MAX_METADATA_BYTES): Promise<Connected> {
  const server = new McpServer({ name: 't', version: '0' });
  registerMetadataResources(server, { client, maxMetadataBytes });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const mcp = new Client({ name: 'test', version: '0' });
  await Promise.all([server.connect(serverSide), mcp.connect(clientSide)]);
  return {
    mcp,
    async close() {
      await mcp.close();
      await server.close();
    },
  };
}

/** The one text content of a resources/read answer. */
async function readText(mcp: Client, uri: string): Promise<{ text: string; mimeType: string | undefined }> {
  const { contents } = await mcp.readResource({ uri });
  expect(contents).toHaveLength(1);
  const [content] = contents;
  expect(content).toMatchObject({ uri });
  if (!content || !('text' in content)) throw new Error(`expected a text resource, got ${JSON.stringify(content)}`);
  return { text: content.text, mimeType: content.mimeType };
}

/** The McpError a resources/read fails with (a short timeout, so that a read that wrongly hangs fails fast). */
const readError = async (mcp: Client, uri: string) => {
  const err = await rejection(mcp.readResource({ uri }, { timeout: 5_000 }));
  expect(err).toBeInstanceOf(McpError);
  return err as unknown as McpError;
};

const complete = async (mcp: Client, template: string, name: string, value: string, context?: Record<string, string>) =>
  (await mcp.complete({ ref: { type: 'ref/resource', uri: template }, argument: { name, value }, ...(context && { context: { arguments: context } }) })).completion.values;

/** A prefix of `id` that `other` does not share. */
function distinguishingPrefix(id: string, other: string): string {
  let n = 1;
  while (other.startsWith(id.slice(0, n))) n += 1;
  return id.slice(0, n);
}

/** An SDK client whose HTTP layer never answers, recording the abort signal each request was sent with. */
function hangingClient(service: TestService['service']) {
  const signals: Array<AbortSignal | undefined> = [];
  let onRequest!: () => void;
  const requested = new Promise<void>((resolve) => (onRequest = resolve));
  const client = new MedicalImagingClient({
    region: REGION,
    endpoint: service.endpoint,
    credentials: service.credentials,
    disableHostPrefix: true,
    maxAttempts: 1,
    requestHandler: {
      handle(_request: unknown, options?: { abortSignal?: AbortSignal }) {
        const signal = options?.abortSignal;
        signals.push(signal);
        onRequest();
        return new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })));
        });
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    },
  });
  return { client, signals, requested };
}

let t: TestService;
let work: string;
let conn: Connected;
let datastoreId: string;
let otherDatastoreId: string;
/** Two image sets in `datastoreId`; `imageSetId` also has a version 2 whose PatientName is X^Y. */
let imageSetId: string;
let otherImageSetId: string;

beforeAll(async () => {
  t = await startTestService();
  work = tempDir('himcp-resources-');
  datastoreId = await createActiveDatastore(t.client, 'resources-test');
  otherDatastoreId = await createActiveDatastore(t.client, 'other-store');

  const first = ctSeriesFiles({ slices: 2, size: 32, seed: 1, patientId: 'RES-01', patientName: 'FIRST^PATIENT' });
  const second = ctSeriesFiles({ slices: 1, size: 32, seed: 2, patientId: 'RES-02', patientName: 'SECOND^PATIENT' });
  const files = Object.fromEntries([
    ...Object.entries(first).map(([name, bytes]) => [`first/${name}`, bytes] as const),
    ...Object.entries(second).map(([name, bytes]) => [`second/${name}`, bytes] as const),
  ]);
  const job = await importFiles(t.client, t.dataDir, datastoreId, files);
  expect(job.jobStatus).toBe('COMPLETED');
  const seriesOf = (series: Record<string, Uint8Array>) => attributesOf(Object.values(series)[0]!).SeriesInstanceUID as string;
  imageSetId = (await imageSetsOfSeries(t.client, datastoreId, seriesOf(first)))[0]!.imageSetId;
  otherImageSetId = (await imageSetsOfSeries(t.client, datastoreId, seriesOf(second)))[0]!.imageSetId;

  await t.client.send(
    new UpdateImageSetMetadataCommand({
      datastoreId,
      imageSetId,
      latestVersionId: '1',
      updateImageSetMetadataUpdates: {
        DICOMUpdates: {
          updatableAttributes: new TextEncoder().encode(JSON.stringify({ SchemaVersion: 1.1, Patient: { DICOM: { PatientName: 'X^Y' } } })),
        },
      },
    }),
  );
  const updated = await waitActive(t.client, datastoreId, imageSetId);
  expect(updated).toMatchObject({ versionId: '2', imageSetWorkflowStatus: 'UPDATED' });

  conn = await connect(t.client);
});

afterAll(async () => {
  await conn?.close();
  await t?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('listing', () => {
  it('resources/list shows the datastores list and each datastore, but no image set', async () => {
    const { resources } = await conn.mcp.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual([DATASTORES_URI, datastoreUri(datastoreId), datastoreUri(otherDatastoreId)].sort());
    expect(resources.find((r) => r.uri === DATASTORES_URI)).toMatchObject({ name: 'datastores', title: expect.any(String), description: expect.any(String), mimeType: 'application/json' });
    expect(resources.find((r) => r.uri === datastoreUri(datastoreId))).toMatchObject({
      name: 'resources-test',
      description: expect.stringContaining('ACTIVE'),
      mimeType: 'application/json',
    });
    expect(resources.filter((r) => r.uri.includes('/image-sets/'))).toEqual([]);
  });

  it('resources/templates/list shows the datastore template and both metadata templates', async () => {
    const { resourceTemplates } = await conn.mcp.listResourceTemplates();
    expect(resourceTemplates.map((r) => r.uriTemplate).sort()).toEqual([DATASTORE_TEMPLATE, METADATA_TEMPLATE, VERSION_METADATA_TEMPLATE].sort());
    for (const template of resourceTemplates) {
      expect(template).toMatchObject({ name: expect.any(String), title: expect.any(String), description: expect.any(String), mimeType: 'application/json' });
    }
  });
});

describe('datastores', () => {
  it('healthimaging://datastores is the datastores as JSON, each with its URI', async () => {
    const { text, mimeType } = await readText(conn.mcp, DATASTORES_URI);
    expect(mimeType).toBe('application/json');
    const body = JSON.parse(text) as { datastores: Array<Record<string, string>>; truncated?: boolean };
    expect(body.truncated).toBeUndefined();
    expect(body.datastores).toHaveLength(2);
    expect(body.datastores.find((d) => d.datastoreId === datastoreId)).toEqual({
      datastoreId,
      datastoreName: 'resources-test',
      datastoreStatus: 'ACTIVE',
      datastoreArn: `arn:aws:medical-imaging:${REGION}:${t.service.accountId}:datastore/${datastoreId}`,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      uri: datastoreUri(datastoreId),
    });
  });

  it('the datastore template is GetDatastore as JSON', async () => {
    const { text, mimeType } = await readText(conn.mcp, datastoreUri(datastoreId));
    expect(mimeType).toBe('application/json');
    expect(JSON.parse(text)).toMatchObject({
      datastoreId,
      datastoreName: 'resources-test',
      datastoreStatus: 'ACTIVE',
      datastoreArn: expect.stringMatching(new RegExp(`:datastore/${datastoreId}$`)),
      losslessStorageFormat: 'HTJ2K',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
  });
});

describe('metadata', () => {
  it('is the document as stored, at the latest version and at version 1', async () => {
    const latest = await readText(conn.mcp, metadataUri(datastoreId, imageSetId));
    expect(latest.mimeType).toBe('application/json');
    const doc = JSON.parse(latest.text);
    expect(doc).toMatchObject({ DatastoreID: datastoreId, ImageSetID: imageSetId, Patient: { DICOM: { PatientName: 'X^Y', PatientID: 'RES-01' } } });

    const v1 = await readText(conn.mcp, metadataUri(datastoreId, imageSetId, '1'));
    expect(v1.mimeType).toBe('application/json');
    expect(JSON.parse(v1.text)).toMatchObject({ ImageSetID: imageSetId, Patient: { DICOM: { PatientName: 'FIRST^PATIENT', PatientID: 'RES-01' } } });
    expect(v1.text).not.toBe(latest.text);

    expect((await readText(conn.mcp, metadataUri(datastoreId, imageSetId, '2'))).text).toBe(latest.text);
  });

  it.skipIf(!awsCliAvailable)('is byte for byte the file the AWS CLI writes, gunzipped (latest and version 1)', async () => {
    const cli = async (file: string, ...version: string[]) => {
      await aws(t.service, ['get-image-set-metadata', '--datastore-id', datastoreId, '--image-set-id', imageSetId, ...version, file], work);
      return gunzipSync(await fs.readFile(path.join(work, file)));
    };
    const latest = await readText(conn.mcp, metadataUri(datastoreId, imageSetId));
    expect(Buffer.from(latest.text, 'utf8').equals(await cli('latest.json.gz'))).toBe(true);
    const v1 = await readText(conn.mcp, metadataUri(datastoreId, imageSetId, '1'));
    expect(Buffer.from(v1.text, 'utf8').equals(await cli('v1.json.gz', '--version-id', '1'))).toBe(true);
  });

  it('refuses a document over --max-metadata-bytes, naming the limit and the flag', async () => {
    const small = await connect(t.client, 1000);
    try {
      const err = await readError(small.mcp, metadataUri(datastoreId, imageSetId));
      expect(err.code).toBe(ErrorCode.InternalError);
      expect(err.message).toContain('limit of 1000 bytes');
      expect(err.message).toContain('--max-metadata-bytes');
      expect(err.data).toEqual({ uri: metadataUri(datastoreId, imageSetId) });
    } finally {
      await small.close();
    }
  });
});

describe('completion', () => {
  it('completes datastoreId by ID prefix and by name prefix', async () => {
    expect((await complete(conn.mcp, DATASTORE_TEMPLATE, 'datastoreId', '')).sort()).toEqual([datastoreId, otherDatastoreId].sort());
    expect(await complete(conn.mcp, DATASTORE_TEMPLATE, 'datastoreId', distinguishingPrefix(datastoreId, otherDatastoreId))).toEqual([datastoreId]);
    expect(await complete(conn.mcp, METADATA_TEMPLATE, 'datastoreId', 'Resources-')).toEqual([datastoreId]);
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'datastoreId', 'other')).toEqual([otherDatastoreId]);
    expect(await complete(conn.mcp, DATASTORE_TEMPLATE, 'datastoreId', 'zzz')).toEqual([]);
  });

  it('completes imageSetId within the datastore given in the context', async () => {
    const context = { datastoreId };
    expect((await complete(conn.mcp, METADATA_TEMPLATE, 'imageSetId', '', context)).sort()).toEqual([imageSetId, otherImageSetId].sort());
    expect(await complete(conn.mcp, METADATA_TEMPLATE, 'imageSetId', distinguishingPrefix(imageSetId, otherImageSetId), context)).toEqual([imageSetId]);
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'imageSetId', distinguishingPrefix(otherImageSetId, imageSetId), context)).toEqual([otherImageSetId]);
    // Nothing to suggest without a datastore, with a malformed one, or in a datastore with no image sets or none at all.
    expect(await complete(conn.mcp, METADATA_TEMPLATE, 'imageSetId', '')).toEqual([]);
    expect(await complete(conn.mcp, METADATA_TEMPLATE, 'imageSetId', '', { datastoreId: 'nope' })).toEqual([]);
    expect(await complete(conn.mcp, METADATA_TEMPLATE, 'imageSetId', '', { datastoreId: otherDatastoreId })).toEqual([]);
    expect(await complete(conn.mcp, METADATA_TEMPLATE, 'imageSetId', '', { datastoreId: UNKNOWN_ID })).toEqual([]);
  });

  it('completes versionId, newest first, once both IDs are known', async () => {
    const context = { datastoreId, imageSetId };
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'versionId', '', context)).toEqual(['2', '1']);
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'versionId', '1', context)).toEqual(['1']);
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'versionId', '', { datastoreId, imageSetId: otherImageSetId })).toEqual(['1']);
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'versionId', '', { datastoreId })).toEqual([]);
    expect(await complete(conn.mcp, VERSION_METADATA_TEMPLATE, 'versionId', '', { datastoreId, imageSetId: UNKNOWN_ID })).toEqual([]);
  });
});

describe('errors', () => {
  it('rejects malformed IDs without calling AWS, saying which variable is wrong and where to find a valid one', async () => {
    // Any AWS request would hang on this client, and be recorded.
    const hanging = hangingClient(t.service);
    const c = await connect(hanging.client);
    try {
      const badDatastore = await readError(c.mcp, metadataUri('NOT-AN-ID', imageSetId));
      expect(badDatastore.code).toBe(ErrorCode.InvalidParams);
      expect(badDatastore.message).toContain(`Invalid resource URI ${metadataUri('NOT-AN-ID', imageSetId)}`);
      expect(badDatastore.message).toContain('datastoreId "NOT-AN-ID" is not valid');
      expect(badDatastore.message).toContain('list_datastores');
      expect(badDatastore.data).toEqual({ uri: metadataUri('NOT-AN-ID', imageSetId) });

      const badImageSet = await readError(c.mcp, metadataUri(datastoreId, imageSetId.slice(1)));
      expect(badImageSet.code).toBe(ErrorCode.InvalidParams);
      expect(badImageSet.message).toContain(`imageSetId "${imageSetId.slice(1)}" is not valid`);
      expect(badImageSet.message).toContain('search_image_sets');
      expect(badImageSet.message).not.toContain('datastoreId');

      const badVersion = await readError(c.mcp, metadataUri(datastoreId, imageSetId, 'latest'));
      expect(badVersion.code).toBe(ErrorCode.InvalidParams);
      expect(badVersion.message).toContain('versionId "latest" is not valid');
      expect(badVersion.message).toContain('list_image_set_versions');

      const badDatastoreResource = await readError(c.mcp, datastoreUri('ABCDEF'));
      expect(badDatastoreResource.code).toBe(ErrorCode.InvalidParams);
      expect(badDatastoreResource.message).toContain('datastoreId "ABCDEF" is not valid');

      expect(await complete(c.mcp, METADATA_TEMPLATE, 'imageSetId', '', { datastoreId: 'NOT-AN-ID' })).toEqual([]);
      expect(await complete(c.mcp, VERSION_METADATA_TEMPLATE, 'versionId', '', { datastoreId, imageSetId: 'NOT-AN-ID' })).toEqual([]);
      expect(hanging.signals).toEqual([]);
    } finally {
      await c.close();
      hanging.client.destroy();
    }
  });

  it('reports unknown IDs as "resource not found" (-32002) with the URI and the service message', async () => {
    const cases = [
      { uri: datastoreUri(UNKNOWN_ID), says: `Datastore ${UNKNOWN_ID} does not exist` },
      { uri: metadataUri(UNKNOWN_ID, imageSetId), says: `Datastore ${UNKNOWN_ID} does not exist` },
      { uri: metadataUri(datastoreId, UNKNOWN_ID), says: `Image set ${UNKNOWN_ID} does not exist` },
      { uri: metadataUri(otherDatastoreId, imageSetId), says: `Image set ${imageSetId} does not exist` },
      { uri: metadataUri(datastoreId, imageSetId, '99'), says: 'Version 99 of image set' },
    ];
    for (const { uri, says } of cases) {
      const err = await readError(conn.mcp, uri);
      expect(err.code, uri).toBe(RESOURCE_NOT_FOUND);
      expect(err.data, uri).toEqual({ uri });
      expect(err.message, uri).toContain(`Resource not found: ${uri}`);
      expect(err.message, uri).toContain('ResourceNotFoundException');
      expect(err.message, uri).toContain(says);
      expect(err.message, uri).toContain('Next step:');
    }
  });

  it('reports other AWS failures as internal errors with the error name, the next step and the request ID', async () => {
    const stranger = sdkClient(t.service, { credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'wrong' } });
    const denied = await connect(stranger);
    try {
      for (const uri of [DATASTORES_URI, datastoreUri(datastoreId), metadataUri(datastoreId, imageSetId)]) {
        const err = await readError(denied.mcp, uri);
        expect(err.code, uri).toBe(ErrorCode.InternalError);
        expect(err.message, uri).toContain('UnrecognizedClientException');
        expect(err.message, uri).toMatch(/AWS request ID: [0-9a-f-]{36}/);
        expect(err.data, uri).toEqual({ uri });
      }
      // resources/list fails visibly rather than hiding the datastores, and so does completion.
      await expect(denied.mcp.listResources()).rejects.toThrow(/UnrecognizedClientException/);
      await expect(complete(denied.mcp, DATASTORE_TEMPLATE, 'datastoreId', '')).rejects.toThrow(/Completion failed: UnrecognizedClientException/);
    } finally {
      await denied.close();
      stranger.destroy();
    }
  });
});

describe('cancellation', () => {
  it.each([
    ['the datastores list', DATASTORES_URI],
    ['a datastore', datastoreUri(UNKNOWN_ID)],
    ['a metadata document', metadataUri(UNKNOWN_ID, UNKNOWN_ID, '1')],
  ])('a cancelled read of %s aborts its AWS request', async (_what, uri) => {
    const hanging = hangingClient(t.service);
    const c = await connect(hanging.client);
    try {
      const controller = new AbortController();
      const read = c.mcp.readResource({ uri }, { signal: controller.signal });
      await hanging.requested;
      controller.abort('the user gave up');
      await expect(read).rejects.toThrow();
      expect(hanging.signals).toHaveLength(1);
      await vi.waitFor(() => expect(hanging.signals[0]?.aborted).toBe(true));
    } finally {
      await c.close();
      hanging.client.destroy();
    }
  });
});

describe('firstItems (the bound on every enumeration)', () => {
  /** Pages of consecutive numbers, recording how many pages were requested. */
  function pagesOf(sizes: number[]) {
    const requested = { count: 0 };
    async function* pages() {
      let next = 0;
      for (const [i, size] of sizes.entries()) {
        requested.count += 1;
        const items = Array.from({ length: size }, () => next++);
        yield { items, ...(i < sizes.length - 1 && { nextToken: `t${i + 1}` }) };
      }
    }
    return { pages: pages(), requested };
  }
  const itemsOf = (page: { items: number[] }) => page.items;

  it('reads every page when everything fits, and says so', async () => {
    const { pages, requested } = pagesOf([3, 3, 1]);
    expect(await firstItems(pages, itemsOf, { limit: 10, maxPages: 5 })).toEqual({ items: [0, 1, 2, 3, 4, 5, 6], complete: true });
    expect(requested.count).toBe(3);
  });

  it('stops at the limit without requesting another page, and says the list was cut', async () => {
    const { pages, requested } = pagesOf([3, 3, 3, 3]);
    expect(await firstItems(pages, itemsOf, { limit: 5, maxPages: 10 })).toEqual({ items: [0, 1, 2, 3, 4], complete: false });
    expect(requested.count).toBe(2);
    const exact = pagesOf([3, 3, 3]);
    expect(await firstItems(exact.pages, itemsOf, { limit: 6, maxPages: 10 })).toEqual({ items: [0, 1, 2, 3, 4, 5], complete: false });
    expect(exact.requested.count).toBe(2);
    const last = pagesOf([3, 3]);
    expect(await firstItems(last.pages, itemsOf, { limit: 6, maxPages: 10 })).toEqual({ items: [0, 1, 2, 3, 4, 5], complete: true });
  });

  it('stops after maxPages even when few items matched', async () => {
    const { pages, requested } = pagesOf([4, 4, 4, 4]);
    expect(await firstItems(pages, itemsOf, { limit: 100, maxPages: 2, keep: (n) => n % 4 === 0 })).toEqual({ items: [0, 4], complete: false });
    expect(requested.count).toBe(2);
  });
});
