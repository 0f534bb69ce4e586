/**
 * --datastore-ids: every tool, resource and completion is confined to the allowed datastores (others are refused,
 * listings show only the allowed ones); with exactly one, datastore_id becomes optional and defaults to it.
 */
import { GetDatastoreCommand, ListDatastoresCommand, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASTORE_TEMPLATE, datastoreUri, DATASTORES_URI, metadataUri } from '../../src/resources/uris.js';
import { createActiveDatastore } from '../helpers/import.js';
import { rejection, startTestService, type TestService } from '../helpers/local.js';
import { listedTools } from '../helpers/tool-listing.js';
import { datastoreStatusOf, demoCt, type GuardClient, type GuardServer, startGuardServer, structured, tagsOf, textOf } from './harness.js';

let local: TestService;
let sdk: MedicalImagingClient;
/** The demo datastore: allowed. */
let allowed: string;
/** Another datastore: not allowed. */
let other: string;
let otherArn: string;
let ct: string;

beforeAll(async () => {
  local = await startTestService({ seedDemo: true });
  sdk = local.client;
  allowed = local.service.demoDatastoreId!;
  ct = await demoCt(sdk, allowed);
  other = await createActiveDatastore(sdk, 'outside');
  otherArn = (await sdk.send(new GetDatastoreCommand({ datastoreId: other }))).datastoreProperties!.datastoreArn!;
});
afterAll(async () => local.stop());

describe('one allowed datastore', () => {
  let server: GuardServer;
  let client: GuardClient;
  beforeAll(async () => {
    server = await startGuardServer('in-memory', local, { allowWrite: true, confirmMode: 'none', datastoreIds: allowed });
    client = await server.connect();
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('listing shows only the allowed datastore', async () => {
    expect((await sdk.send(new ListDatastoresCommand({}))).datastoreSummaries!.map((d) => d.datastoreId)).toContain(other);
    const r = await client.call('list_datastores');
    expect(structured<{ datastores: Array<{ datastore_id: string }> }>(r).datastores.map((d) => d.datastore_id)).toEqual([allowed]);
    expect(textOf(r)).not.toContain(other);
  });

  it('reads and writes naming another datastore are refused, and nothing changes', async () => {
    for (const [tool, args] of [
      ['get_datastore', { datastore_id: other }],
      ['search_image_sets', { datastore_id: other }],
      ['delete_datastore', { datastore_id: other }],
      ['list_tags_for_resource', { resource_arn: otherArn }],
      ['tag_resource', { resource_arn: otherArn, tags: { owner: 'agent' } }],
    ] as const) {
      const r = await client.call(tool, args);
      expect(r.isError, tool).toBe(true);
      expect(textOf(r), tool).toMatch(new RegExp(`^DatastoreNotAllowed: Datastore ${other} is not one this server may use\\.\\nNext step: This server may only use datastore\\(s\\) ${allowed} \\(--datastore-ids\\)`));
    }
    expect(await datastoreStatusOf(sdk, other)).toBe('ACTIVE');
    expect(await tagsOf(sdk, otherArn)).toEqual({});
    expect(server.audit.slice(-2).map((e) => [e.tool, e.outcome, e.error])).toEqual([
      ['delete_datastore', 'refused', 'DatastoreNotAllowed'],
      ['tag_resource', 'refused', 'DatastoreNotAllowed'],
    ]);
  });

  it('datastore_id is optional and defaults to the allowed datastore', async () => {
    const search = (await client.client.listTools()).tools.find((t) => t.name === 'search_image_sets')!;
    expect(search.inputSchema.required ?? []).not.toContain('datastore_id');
    expect(search.inputSchema.properties!.datastore_id).toMatchObject({ default: allowed, description: expect.stringContaining('the only datastore this server may use') });
    const r = await client.call('search_image_sets', { patient_id: 'DEMO-0001' });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(structured<{ image_sets: Array<{ image_set_id: string }> }>(r).image_sets.map((s) => s.image_set_id)).toContain(ct);
    expect(structured(await client.call('get_image_set', { image_set_id: ct }))).toMatchObject({ datastore_id: allowed, image_set_id: ct });
  });

  it('create_datastore is not offered: it would make a datastore outside the list', async () => {
    const names = (await client.client.listTools()).tools.map((t) => t.name);
    expect(names).not.toContain('create_datastore');
    expect(names).toContain('delete_datastore');
  });

  it('resources: the list and completion show only the allowed datastore; others are refused', async () => {
    const read = async (uri: string) => JSON.parse(((await client.client.readResource({ uri })).contents[0] as { text: string }).text) as Record<string, unknown>;
    const listed = (await read(DATASTORES_URI)) as { datastores: Array<{ datastoreId: string }> };
    expect(listed.datastores.map((d) => d.datastoreId)).toEqual([allowed]);
    const { resources } = await client.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([DATASTORES_URI, datastoreUri(allowed)]);
    const completion = await client.client.complete({ ref: { type: 'ref/resource', uri: DATASTORE_TEMPLATE }, argument: { name: 'datastoreId', value: '' } });
    expect(completion.completion.values).toEqual([allowed]);

    for (const uri of [datastoreUri(other), metadataUri(other, ct)]) {
      const err = await rejection(client.client.readResource({ uri }));
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).code).toBe(ErrorCode.InvalidParams);
      expect(err.message).toContain(`DatastoreNotAllowed: Datastore ${other} is not one this server may use.`);
    }
    expect(await read(metadataUri(allowed, ct))).toMatchObject({ ImageSetID: ct });
  });
});

describe('several allowed datastores', () => {
  it('datastore_id stays required, and both are usable', async () => {
    const tools = await listedTools({ allowWrite: true, datastoreIds: `${allowed},${other}` });
    expect(tools.find((t) => t.name === 'search_image_sets')!.inputSchema.required).toContain('datastore_id');
    const server = await startGuardServer('in-memory', local, { datastoreIds: `${other},${allowed}` });
    const client = await server.connect();
    const r = await client.call('list_datastores');
    expect(structured<{ datastores: Array<{ datastore_id: string }> }>(r).datastores.map((d) => d.datastore_id).sort()).toEqual([allowed, other].sort());
    expect((await client.call('get_datastore', { datastore_id: other })).isError).toBeFalsy();
    await client.close();
    await server.close();
  });
});
