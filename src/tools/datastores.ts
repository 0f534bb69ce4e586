/** Datastores: list, inspect and create them (toolset `datastores`), and delete them (toolset `delete`). */
import {
  CreateDatastoreCommand,
  DeleteDatastoreCommand,
  GetDatastoreCommand,
  ListDatastoresCommand,
  SearchImageSetsCommand,
  type DatastoreSummary,
} from '@aws-sdk/client-medical-imaging';
import { z } from 'zod';
import { GuardError } from '../guard/errors.js';
import { clientToken, datastoreId, isoTime, maxResults, nextToken, tags } from './fields.js';
import { defineTool, READ } from './types.js';

const STATUS = ['CREATING', 'CREATE_FAILED', 'ACTIVE', 'DELETING', 'DELETED'] as const;

const datastoreShape = {
  datastore_id: z.string(),
  name: z.string(),
  status: z.string(),
  arn: z.string(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
};

const summarize = (d: DatastoreSummary) => ({
  datastore_id: d.datastoreId!,
  name: d.datastoreName ?? '',
  status: d.datastoreStatus ?? 'UNKNOWN',
  arn: d.datastoreArn ?? '',
  created_at: isoTime(d.createdAt),
  updated_at: isoTime(d.updatedAt),
});

export const listDatastores = defineTool({
  name: 'list_datastores',
  title: 'List datastores',
  description:
    'Lists the HealthImaging datastores (ID, name, status). Start here: every other tool needs a datastore_id. Filter by status; page with next_token.',
  toolset: 'datastores',
  scope: 'account',
  inputSchema: {
    status: z.enum(STATUS).optional().describe('Only datastores in this status'),
    max_results: maxResults(50),
    next_token: nextToken.optional(),
  },
  outputSchema: { datastores: z.array(z.object(datastoreShape)), next_token: z.string().optional() },
  annotations: READ,
  async handler(args, { client, signal }) {
    const res = await client.send(
      new ListDatastoresCommand({ datastoreStatus: args.status, maxResults: args.max_results, nextToken: args.next_token }),
      { abortSignal: signal },
    );
    const datastores = (res.datastoreSummaries ?? []).map(summarize);
    const lines = datastores.map((d) => `${d.datastore_id}  ${d.status.padEnd(8)} ${d.name}`);
    const text = [
      datastores.length ? `${datastores.length} datastore(s):` : 'No datastores match.',
      ...lines,
      ...(res.nextToken ? [`More: call again with next_token="${res.nextToken}"`] : []),
    ].join('\n');
    return { text, structured: { datastores, ...(res.nextToken && { next_token: res.nextToken }) } };
  },
});

export const getDatastore = defineTool({
  name: 'get_datastore',
  title: 'Get datastore',
  description: 'Shows one datastore: name, status, ARN (for tag tools), storage format, creation time.',
  toolset: 'datastores',
  inputSchema: { datastore_id: datastoreId },
  outputSchema: { ...datastoreShape, lossless_storage_format: z.string().optional(), kms_key_arn: z.string().optional() },
  annotations: READ,
  async handler(args, { client, signal }) {
    const { datastoreProperties: p } = await client.send(new GetDatastoreCommand({ datastoreId: args.datastore_id }), { abortSignal: signal });
    const structured = {
      ...summarize(p!),
      ...(p!.losslessStorageFormat && { lossless_storage_format: p!.losslessStorageFormat }),
      ...(p!.kmsKeyArn && { kms_key_arn: p!.kmsKeyArn }),
    };
    const text = `Datastore ${structured.datastore_id} "${structured.name}": ${structured.status}\nARN: ${structured.arn}\nCreated: ${structured.created_at ?? '?'}${structured.lossless_storage_format ? `\nLossless storage format: ${structured.lossless_storage_format}` : ''}`;
    return { text, structured };
  },
});

export const createDatastore = defineTool({
  name: 'create_datastore',
  title: 'Create datastore',
  description:
    'Creates a datastore. It starts CREATING and becomes ACTIVE after a while (poll get_datastore). At most 10 datastores per region.',
  toolset: 'datastores',
  scope: 'account',
  inputSchema: {
    datastore_name: z.string().min(1).max(256).regex(/^[A-Za-z0-9._/#-]+$/, 'letters, digits and . _ / # -').describe('Name of the new datastore'),
    tags: tags.optional(),
    lossless_storage_format: z.enum(['HTJ2K', 'JPEG_2000_LOSSLESS']).optional().describe('How lossless frames are stored (default HTJ2K)'),
    kms_key_arn: z.string().min(1).max(512).optional().describe('Customer managed KMS key ARN for encryption at rest'),
    client_token: clientToken.optional(),
  },
  outputSchema: { datastore_id: z.string(), status: z.string() },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { client, signal }) {
    const res = await client.send(
      new CreateDatastoreCommand({
        datastoreName: args.datastore_name,
        tags: args.tags,
        losslessStorageFormat: args.lossless_storage_format,
        kmsKeyArn: args.kms_key_arn,
        clientToken: args.client_token,
      }),
      { abortSignal: signal },
    );
    return {
      text: `Datastore ${res.datastoreId} is ${res.datastoreStatus}. Poll get_datastore until it is ACTIVE before importing.`,
      structured: { datastore_id: res.datastoreId!, status: res.datastoreStatus! },
    };
  },
});

export const deleteDatastore = defineTool({
  name: 'delete_datastore',
  title: 'Delete datastore',
  description:
    'Deletes an empty datastore (delete its image sets first; HealthImaging refuses otherwise). Irreversible, so it asks the user to confirm: the datastore goes DELETING, then DELETED.',
  toolset: 'delete',
  inputSchema: { datastore_id: datastoreId },
  outputSchema: { datastore_id: z.string(), status: z.string() },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  guard: {
    confirmation: () => 'deleting a datastore cannot be undone',
    async preview(args, { client, signal }) {
      const d = (await client.send(new GetDatastoreCommand({ datastoreId: args.datastore_id }), { abortSignal: signal })).datastoreProperties!;
      const described = `Datastore ${args.datastore_id} "${d.datastoreName ?? ''}" (${d.datastoreStatus}, created ${isoTime(d.createdAt) ?? '?'})`;
      if (d.datastoreStatus !== 'ACTIVE') {
        throw new GuardError('TargetNotReady', `${described} is not ACTIVE. Nothing was changed.`, 'Poll get_datastore; only an ACTIVE datastore can be deleted.');
      }
      // HealthImaging refuses to delete a datastore that holds image sets: say so before anyone is asked.
      const { imageSetsMetadataSummaries: some } = await client.send(new SearchImageSetsCommand({ datastoreId: args.datastore_id, maxResults: 1 }), { abortSignal: signal });
      if (some?.length) {
        throw new GuardError(
          'TargetNotReady',
          `${described} still holds image sets, and HealthImaging deletes only empty datastores. Nothing was changed.`,
          'Delete its image sets first (search_image_sets, then delete_image_set for each), if that is really what the user wants.',
        );
      }
      return {
        action: `Delete datastore ${args.datastore_id} "${d.datastoreName ?? ''}".`,
        changes: [`${described} is empty and will be deleted; this cannot be undone.`],
        version: `${d.datastoreStatus} since ${isoTime(d.updatedAt) ?? isoTime(d.createdAt) ?? '?'}`,
        current: { datastore_id: args.datastore_id, status: d.datastoreStatus! },
      };
    },
  },
  async handler(args, { client, signal }) {
    const res = await client.send(new DeleteDatastoreCommand({ datastoreId: args.datastore_id }), { abortSignal: signal });
    return { text: `Datastore ${res.datastoreId} is ${res.datastoreStatus}.`, structured: { datastore_id: res.datastoreId!, status: res.datastoreStatus! } };
  },
});

export const DATASTORE_TOOLS = [listDatastores, getDatastore, createDatastore, deleteDatastore];
