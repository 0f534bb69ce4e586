/**
 * The server as a client meets it, over either transport: a real MCP Client, in memory or over stateful Streamable
 * HTTP, talking to createServer on the real local service (demo data). The client can declare form elicitation and
 * answer it like a person would; the audit log is captured; the store is checked through the raw AWS SDK.
 */
import {
  CopyImageSetCommand,
  GetDatastoreCommand,
  GetImageSetCommand,
  GetImageSetMetadataCommand,
  ListTagsForResourceCommand,
  type MedicalImagingClient,
  SearchImageSetsCommand,
  UpdateImageSetMetadataCommand,
} from '@aws-sdk/client-medical-imaging';
import { gunzipSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, type ElicitRequest, ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { AuditEntry } from '../../src/guard/audit.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import { createServer } from '../../src/server.js';
import { startHttpServer } from '../../src/transports/http.js';
import { waitActive } from '../helpers/import.js';
import type { TestService } from '../helpers/local.js';
import { capturedAudit } from '../helpers/mcp.js';

export const TRANSPORTS = ['in-memory', 'http'] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

export type ElicitParams = ElicitRequest['params'];
/** How the fake person answers a confirmation dialog. */
export type Person = (params: ElicitParams) => ElicitResult | Promise<ElicitResult>;

export const ACCEPT: Person = () => ({ action: 'accept', content: { confirm: true } });
export const UNTICKED: Person = () => ({ action: 'accept', content: { confirm: false } });
export const DECLINE: Person = () => ({ action: 'decline' });
export const CANCEL: Person = () => ({ action: 'cancel' });

export interface GuardClient {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** Every dialog the server asked this client to show. */
  elicitations: ElicitParams[];
  /** Sets how the person answers from now on. */
  answerWith(person: Person): void;
  close(): Promise<void>;
}

export interface GuardServer {
  config: Config;
  audit: AuditEntry[];
  /** A new client (a new session over HTTP); `elicitation` declares form elicitation, answered by ACCEPT at first. */
  connect(options?: { elicitation?: boolean }): Promise<GuardClient>;
  close(): Promise<void>;
}

/** One server (over HTTP: one endpoint with a session per client) for `flags`, on the shared local service. */
export async function startGuardServer(kind: TransportKind, local: TestService, flags: Record<string, string | boolean> = {}): Promise<GuardServer> {
  const config = loadConfig({ backend: 'aws', region: 'us-east-1', ...flags }, {});
  const sdk = createMedicalImagingClient(config, { endpoint: local.service.endpoint, credentials: local.service.credentials });
  const { audit, entries } = capturedAudit();
  const deps = { client: sdk, backendDescription: 'the local test service', audit };
  const http = kind === 'http' ? await startHttpServer({ host: '127.0.0.1', port: 0, createSession: () => createServer(config, deps), log: () => undefined }) : undefined;
  const inMemoryServers: Array<{ close(): Promise<void> }> = [];

  const connect = async (options: { elicitation?: boolean } = {}): Promise<GuardClient> => {
    const client = new Client({ name: 'guard-test', version: '0' }, options.elicitation ? { capabilities: { elicitation: { form: {} } } } : {});
    const elicitations: ElicitParams[] = [];
    let person = ACCEPT;
    if (options.elicitation) {
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        elicitations.push(request.params);
        return person(request.params);
      });
    }
    if (http) {
      await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    } else {
      const handle = createServer(config, deps);
      inMemoryServers.push(handle);
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await Promise.all([handle.server.connect(serverSide), client.connect(clientSide)]);
    }
    return {
      client,
      call: (name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>,
      elicitations,
      answerWith: (next) => (person = next),
      close: () => client.close(),
    };
  };

  return {
    config,
    audit: entries,
    connect,
    async close() {
      await http?.close();
      for (const server of inMemoryServers) await server.close();
      sdk.destroy();
    },
  };
}

// ---- results ---------------------------------------------------------------------------------------------------

export const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
export const structured = <T = Record<string, unknown>>(result: CallToolResult) => result.structuredContent as T;

// ---- the store, through the AWS SDK --------------------------------------------------------------------------------

export async function metadataOf(sdk: MedicalImagingClient, datastoreId: string, imageSetId: string, versionId?: string): Promise<ImageSetMetadataDocument> {
  const res = await sdk.send(new GetImageSetMetadataCommand({ datastoreId, imageSetId, ...(versionId && { versionId }) }));
  return JSON.parse(gunzipSync(await res.imageSetMetadataBlob!.transformToByteArray()).toString('utf8')) as ImageSetMetadataDocument;
}

/** The image set's latest version, or 'gone' once it is deleted. */
export async function versionOf(sdk: MedicalImagingClient, datastoreId: string, imageSetId: string): Promise<string> {
  try {
    return (await sdk.send(new GetImageSetCommand({ datastoreId, imageSetId }))).versionId!;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return 'gone';
    throw err;
  }
}

export const datastoreStatusOf = async (sdk: MedicalImagingClient, datastoreId: string) =>
  (await sdk.send(new GetDatastoreCommand({ datastoreId }))).datastoreProperties!.datastoreStatus!;

export const tagsOf = async (sdk: MedicalImagingClient, resourceArn: string) => (await sdk.send(new ListTagsForResourceCommand({ resourceArn }))).tags ?? {};

/** The demo chest CT (12 instances, a private tag). */
export async function demoCt(sdk: MedicalImagingClient, datastoreId: string): Promise<string> {
  const found = await sdk.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: 'DEMO-0001' }] }] } }));
  return found.imageSetsMetadataSummaries!.find((s) => s.isPrimary)!.imageSetId!;
}

/** A new image set with the demo CT's content, to change or delete without affecting other tests. */
export async function disposableCopy(sdk: MedicalImagingClient, datastoreId: string, sourceId: string): Promise<string> {
  const source = await waitActive(sdk, datastoreId, sourceId);
  const res = await sdk.send(new CopyImageSetCommand({ datastoreId, sourceImageSetId: sourceId, copyImageSetInformation: { sourceImageSet: { latestVersionId: source.versionId! } } }));
  const copyId = res.destinationImageSetProperties!.imageSetId!;
  await waitActive(sdk, datastoreId, copyId);
  await waitActive(sdk, datastoreId, sourceId);
  return copyId;
}

/** UpdateImageSetMetadata through the SDK, as another user would; waits until the new version is ACTIVE. */
export async function updateDirectly(sdk: MedicalImagingClient, datastoreId: string, imageSetId: string, updates: Record<string, unknown>): Promise<void> {
  const { versionId } = await waitActive(sdk, datastoreId, imageSetId);
  const updatableAttributes = new TextEncoder().encode(JSON.stringify({ SchemaVersion: '1.1', ...updates }));
  await sdk.send(new UpdateImageSetMetadataCommand({ datastoreId, imageSetId, latestVersionId: versionId!, updateImageSetMetadataUpdates: { DICOMUpdates: { updatableAttributes } } }));
  await waitActive(sdk, datastoreId, imageSetId);
}
