/**
 * The IAM map (src/aws/iam.ts) against the tools: every tool has an entry and no entry outlives its tool; the
 * actions each tool declares are the operations it really sends (observed on the SDK client while each tool runs
 * against the real local service). test/docs/generated.test.ts checks that docs/iam.md shows the map as it is.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedicalImagingClient, interceptSend } from '../../src/aws/client.js';
import { healthImagingActionsOf, policyFor, READ_ACTIONS, TOOL_PERMISSIONS } from '../../src/aws/iam.js';
import { loadConfig } from '../../src/config.js';
import { createServer } from '../../src/server.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { capturedAudit } from '../helpers/mcp.js';
import { startTestService, type TestService, waitFor } from '../helpers/local.js';

const TOOL_NAMES = ALL_TOOLS.map((t) => t.name);

describe('the IAM map and the tools', () => {
  it('has an entry for every tool', () => {
    expect(TOOL_NAMES.filter((name) => !TOOL_PERMISSIONS[name])).toEqual([]);
  });

  it('has no entry for a tool that does not exist', () => {
    const stale = Object.keys(TOOL_PERMISSIONS).filter((name) => !TOOL_NAMES.includes(name));
    expect(stale).toEqual([]);
  });

  it('gives read-only tools read actions only, and each write tool at least one write action', () => {
    // save_dicom_instance writes a file on the server's machine, not in HealthImaging: it reads there.
    const localWrites = new Set(['save_dicom_instance']);
    for (const tool of ALL_TOOLS) {
      const actions = healthImagingActionsOf(tool.name);
      const writes = actions.filter((a) => !READ_ACTIONS.has(a));
      if (tool.annotations.readOnlyHint || localWrites.has(tool.name)) expect(writes, tool.name).toEqual([]);
      else expect(writes.length, tool.name).toBeGreaterThan(0);
    }
  });

  it('builds policies that grant exactly the actions of the tools given', () => {
    const read = policyFor(['list_datastores', 'get_image_frame']);
    expect(read.Statement).toEqual([
      { Sid: 'HealthImagingAccount', Effect: 'Allow', Action: ['medical-imaging:ListDatastores'], Resource: '*' },
      {
        Sid: 'HealthImagingDatastores',
        Effect: 'Allow',
        Action: ['medical-imaging:GetImageFrame', 'medical-imaging:GetImageSet', 'medical-imaging:GetImageSetMetadata'],
        Resource: ['arn:aws:medical-imaging:*:*:datastore/*'],
      },
    ]);
    const scoped = policyFor(['create_datastore', 'start_dicom_import_job'], { datastoreIds: ['a'.repeat(32)] });
    expect(scoped.Statement.map((s) => s.Action)).toEqual([
      ['medical-imaging:CreateDatastore'],
      ['medical-imaging:StartDICOMImportJob', 'medical-imaging:TagResource'],
      ['iam:PassRole'],
    ]);
    expect(scoped.Statement[1]!.Resource).toEqual([`arn:aws:medical-imaging:*:*:datastore/${'a'.repeat(32)}`, `arn:aws:medical-imaging:*:*:datastore/${'a'.repeat(32)}/imageset/*`]);
  });
});

describe('the actions each tool declares are the operations it sends', () => {
  let local: TestService;
  let client: Client;
  let close: () => Promise<void>;
  let sent: string[] = [];
  let ds: string;
  let ct: string;
  let mr: string;
  let frameId: string;

  beforeAll(async () => {
    local = await startTestService({ seedDemo: true });
    const config = loadConfig({ backend: 'aws', region: 'us-east-1', allowWrite: true, confirmMode: 'none' }, {});
    const sdk = createMedicalImagingClient(config, { endpoint: local.service.endpoint, credentials: local.service.credentials });
    const observed = interceptSend(sdk, (command, send) => {
      sent.push(command.constructor.name.replace(/Command$/, ''));
      return send();
    });
    const handle = createServer(config, { client: observed, backendDescription: 'the local test service', audit: capturedAudit().audit });
    const [a, b] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'iam', version: '0' });
    await Promise.all([handle.server.connect(b), client.connect(a)]);
    close = async () => {
      await client.close();
      await handle.close();
      sdk.destroy();
      await local.stop();
    };
    ds = local.service.demoDatastoreId!;
    const found = (await call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0001' })).structuredContent as { image_sets: Array<{ image_set_id: string }> };
    ct = found.image_sets[0]!.image_set_id;
    // get_contact_sheet reads another image set than get_image_frame: the metadata of one already read is cached.
    const foundMr = (await call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0002' })).structuredContent as { image_sets: Array<{ image_set_id: string }> };
    mr = foundMr.image_sets[0]!.image_set_id;
    const meta = (await call('get_image_set_metadata', { datastore_id: ds, image_set_id: ct, max_instances: 1 })).structuredContent as {
      instances: Array<{ frame_ids: string[] }>;
    };
    frameId = meta.instances[0]!.frame_ids[0]!;
  });
  afterAll(async () => close());

  async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
    return result;
  }

  /** Runs the tool and returns the distinct operations it sent. */
  async function operationsOf(name: string, args: Record<string, unknown>): Promise<string[]> {
    sent = [];
    await call(name, args);
    return [...new Set(sent)].sort();
  }

  // One representative call per tool, in an order that leaves the next one something to act on. A call's conditional
  // actions (tags on create_datastore) are exercised where the sample uses them.
  const samples: Array<[string, () => Record<string, unknown>, { dryRun?: boolean }?]> = [
    ['list_datastores', () => ({})],
    ['get_datastore', () => ({ datastore_id: ds })],
    ['search_image_sets', () => ({ datastore_id: ds, patient_id: 'DEMO-0001' })],
    ['get_image_set', () => ({ datastore_id: ds, image_set_id: ct })],
    ['get_image_set_metadata', () => ({ datastore_id: ds, image_set_id: ct })],
    ['get_image_frame', () => ({ datastore_id: ds, image_set_id: ct, image_frame_id: frameId, max_size: 64 })],
    ['get_contact_sheet', () => ({ datastore_id: ds, image_set_id: mr, max_frames: 2, tile_size: 32 })],
    ['list_image_set_versions', () => ({ datastore_id: ds, image_set_id: ct })],
    ['update_image_set_metadata', () => ({ datastore_id: ds, image_set_id: ct, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'IAM' } } } })],
    ['update_image_set_metadata', () => ({ datastore_id: ds, image_set_id: ct, latest_version_id: '2', updates: { Study: { DICOM: { StudyDescription: 'X' } } }, dry_run: true }), { dryRun: true }],
    ['compare_image_set_versions', () => ({ datastore_id: ds, image_set_id: ct, from_version_id: '1' })],
    ['copy_image_set', () => ({ datastore_id: ds, source_image_set_id: ct, source_latest_version_id: '2' })],
    ['start_dicom_import_job', () => ({ datastore_id: ds, input_s3_uri: 's3://iam/in/', output_s3_uri: 's3://iam/out/', data_access_role_arn: 'arn:aws:iam::123456789012:role/ImportRole' })],
    ['list_dicom_import_jobs', () => ({ datastore_id: ds })],
    ['list_tags_for_resource', () => ({ resource_arn: `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}` })],
    ['tag_resource', () => ({ resource_arn: `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}`, tags: { iam: 'yes' } })],
    ['untag_resource', () => ({ resource_arn: `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ds}`, tag_keys: ['iam'] })],
    ['create_datastore', () => ({ datastore_name: 'iam-check', tags: { team: 'imaging' } })],
  ];

  it.each(samples)('%s', async (name, args, options = {}) => {
    const ops = await operationsOf(name, args());
    // What the tool sent must be granted by its entry, and everything its entry always needs must have been used
    // (a dry run writes nothing, so it uses only the reads).
    expect(ops.filter((op) => !healthImagingActionsOf(name).includes(op as never)), `${name} sent operations its IAM entry lacks`).toEqual([]);
    if (options.dryRun) expect(ops.filter((op) => !READ_ACTIONS.has(op as never))).toEqual([]);
    else expect(TOOL_PERMISSIONS[name]!.actions.filter((a) => !ops.includes(a)), `${name} declares actions it did not use`).toEqual([]);
  });

  it('get_dicom_import_job, delete_image_set and delete_datastore', async () => {
    const jobs = (await call('list_dicom_import_jobs', { datastore_id: ds })).structuredContent as { jobs: Array<{ job_id: string }> };
    expect(await operationsOf('get_dicom_import_job', { datastore_id: ds, job_id: jobs.jobs[0]!.job_id })).toEqual(['GetDICOMImportJob']);

    const copies = (await call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0001' })).structuredContent as { image_sets: Array<{ image_set_id: string }> };
    const copy = copies.image_sets.find((s) => s.image_set_id !== ct)!.image_set_id;
    expect(await operationsOf('delete_image_set', { datastore_id: ds, image_set_id: copy })).toEqual(TOOL_PERMISSIONS.delete_image_set!.actions.toSorted());

    const created = (await call('list_datastores', {})).structuredContent as { datastores: Array<{ datastore_id: string; name: string; status: string }> };
    const empty = created.datastores.find((d) => d.name === 'iam-check')!.datastore_id;
    await waitFor(async () => (await call('get_datastore', { datastore_id: empty })).structuredContent as { status: string }, (d) => d.status === 'ACTIVE', 30_000, 'the empty datastore to be ACTIVE');
    expect(await operationsOf('delete_datastore', { datastore_id: empty })).toEqual(TOOL_PERMISSIONS.delete_datastore!.actions.toSorted());
  });

  it('has a sample for every tool that reaches HealthImaging through the SDK', () => {
    const covered = new Set([...samples.map(([name]) => name), 'get_dicom_import_job', 'delete_image_set', 'delete_datastore']);
    // The DICOMweb tools reach HealthImaging over DICOMweb, not the SDK: test/mcp/dicomweb.test.ts covers them.
    const dicomweb = new Set(ALL_TOOLS.filter((t) => t.toolset === 'dicomweb').map((t) => t.name));
    expect(TOOL_NAMES.filter((name) => !covered.has(name) && !dicomweb.has(name))).toEqual([]);
  });
});
