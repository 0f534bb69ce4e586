/** Every tool through a real MCP client (in memory) against the real local service: a happy path and an error each. */
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctSeriesFiles, putFiles } from '../helpers/dicom-files.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

let h: McpHarness;
let ds: string;
let ct: { image_set_id: string; series_instance_uid?: string };

beforeAll(async () => {
  // Confirmations are tested in test/guard/; here every write goes through unconfirmed.
  h = await connectMcp({ allowWrite: true, confirmMode: 'none' });
  ds = h.local.service.demoDatastoreId!;
  const found = await h.call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0001' });
  ct = (found.structuredContent as { image_sets: Array<{ image_set_id: string; series_instance_uid?: string }> }).image_sets[0]!;
});
afterAll(async () => h.close());

const structured = <T>(r: { structuredContent?: unknown }) => r.structuredContent as T;

describe('read tools', () => {
  it('list_datastores and get_datastore', async () => {
    const list = await h.call('list_datastores');
    expect(list.isError).toBeFalsy();
    expect(textOf(list)).toContain(ds);
    expect(structured<{ datastores: Array<{ datastore_id: string; status: string }> }>(list).datastores[0]).toMatchObject({ datastore_id: ds, status: 'ACTIVE' });
    const got = await h.call('get_datastore', { datastore_id: ds });
    expect(textOf(got)).toContain('ACTIVE');
    expect(structured<{ arn: string }>(got).arn).toMatch(/^arn:aws:medical-imaging:/);

    const missing = await h.call('get_datastore', { datastore_id: '0'.repeat(32) });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^ResourceNotFoundException: .*\nNext step: .*list_datastores/s);
    expect(textOf(missing)).toMatch(/AWS request ID: [0-9a-f-]{36}/);
    const invalid = await h.call('get_datastore', { datastore_id: 'NOT-AN-ID' });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/32 lowercase/);
  });

  it('search_image_sets: friendly criteria, paging, and the two-criteria limit', async () => {
    expect(ct.image_set_id).toMatch(/^[0-9a-z]{32}$/);
    const byDate = await h.call('search_image_sets', { datastore_id: ds, study_date_from: '2024-01-01', study_date_to: '20241231', sort_by: 'createdAt', sort_order: 'ASC' });
    expect(structured<{ image_sets: unknown[] }>(byDate).image_sets).toHaveLength(3);
    const page = await h.call('search_image_sets', { datastore_id: ds, max_results: 1 });
    const first = structured<{ image_sets: unknown[]; next_token?: string }>(page);
    expect(first.image_sets).toHaveLength(1);
    expect(textOf(page)).toContain(`next_token="${first.next_token}"`);
    const second = await h.call('search_image_sets', { datastore_id: ds, max_results: 1, next_token: first.next_token });
    expect(structured<{ image_sets: unknown[] }>(second).image_sets).toHaveLength(1);
    const raw = await h.call('search_image_sets', { datastore_id: ds, filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: 'DEMO-0002' }] }] });
    expect(textOf(raw)).toContain('DEMO^HEAD^MR');
    const tooMany = await h.call('search_image_sets', { datastore_id: ds, patient_id: 'A', accession_number: 'B', study_id: 'C' });
    expect(tooMany.isError).toBe(true);
    expect(textOf(tooMany)).toContain('at most two criteria');
    const badDate = await h.call('search_image_sets', { datastore_id: ds, study_date: '01/02/2024' });
    expect(badDate.isError).toBe(true);
  });

  it('get_image_set and list_image_set_versions', async () => {
    const got = await h.call('get_image_set', { datastore_id: ds, image_set_id: ct.image_set_id });
    expect(structured<{ version_id: string; state: string }>(got)).toMatchObject({ version_id: '1', state: 'ACTIVE' });
    const versions = await h.call('list_image_set_versions', { datastore_id: ds, image_set_id: ct.image_set_id });
    expect(textOf(versions)).toContain('v1');
    const missing = await h.call('get_image_set', { datastore_id: ds, image_set_id: 'f'.repeat(32) });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toContain('ResourceNotFoundException');
    const missingVersions = await h.call('list_image_set_versions', { datastore_id: ds, image_set_id: 'f'.repeat(32) });
    expect(missingVersions.isError).toBe(true);
  });

  it('get_image_set_metadata returns a compact summary and a resource link, never the whole document', async () => {
    const r = await h.call('get_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, max_instances: 3 });
    expect(r.isError).toBeFalsy();
    const text = textOf(r);
    expect(text).toContain('Patient: DEMO^CHEST^CT (ID DEMO-0001)');
    expect(text).toContain('12 instance(s), 12 frame(s)');
    expect(text).toContain('HTJ2K lossless RPCL (1.2.840.10008.1.2.4.202) ×12');
    expect(text).not.toContain('"DICOM"');
    const s = structured<{ instances: Array<{ frame_ids: string[] }>; instance_count: number; document_bytes: number; resource_uri: string }>(r);
    expect(s.instances).toHaveLength(3);
    expect(s.instance_count).toBe(12);
    expect(s.instances[0]!.frame_ids[0]).toMatch(/^[0-9a-z]{32}$/);
    expect(text.length).toBeLessThan(s.document_bytes / 4);
    const link = r.content.find((c) => c.type === 'resource_link') as { uri: string; mimeType: string };
    expect(link).toMatchObject({ uri: `healthimaging://datastores/${ds}/image-sets/${ct.image_set_id}/metadata`, mimeType: 'application/json' });
    const v1 = await h.call('get_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, version_id: '1' });
    expect((v1.content.find((c) => c.type === 'resource_link') as { uri: string }).uri).toContain('/versions/1/metadata');
    const missing = await h.call('get_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, version_id: '99' });
    expect(missing.isError).toBe(true);
  });

  it('get_image_frame renders a frame as a PNG image an agent can look at, checked against its checksum', async () => {
    const meta = await h.call('get_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, max_instances: 1 });
    const frameId = structured<{ instances: Array<{ frame_ids: string[] }> }>(meta).instances[0]!.frame_ids[0]!;
    const r = await h.call('get_image_frame', { datastore_id: ds, image_set_id: ct.image_set_id, image_frame_id: frameId });
    expect(r.isError).toBeFalsy();
    const image = r.content.find((c) => c.type === 'image') as { data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    const png = decode(Buffer.from(image.data, 'base64'));
    expect([png.width, png.height, png.channels]).toEqual([256, 256, 1]);
    expect(textOf(r)).toContain('window 40/400 (instance)');
    expect(textOf(r)).toContain('Decoded pixels match the recorded CRC32');
    expect(structured<{ checksum_ok: boolean; rendered_width: number }>(r)).toMatchObject({ checksum_ok: true, rendered_width: 256 });

    const lung = await h.call('get_image_frame', { datastore_id: ds, image_set_id: ct.image_set_id, image_frame_id: frameId, preset: 'lung', max_size: 128 });
    expect(structured<{ window: { center: number; width: number; source: string }; rendered_width: number }>(lung)).toMatchObject({ window: { center: -600, width: 1500, source: 'preset:lung' }, rendered_width: 128 });
    const explicit = await h.call('get_image_frame', { datastore_id: ds, image_set_id: ct.image_set_id, image_frame_id: frameId, window_center: 300, window_width: 1000 });
    expect(textOf(explicit)).toContain('window 300/1000 (request)');

    const raw = await h.call('get_image_frame', { datastore_id: ds, image_set_id: ct.image_set_id, image_frame_id: frameId, format: 'raw' });
    const blob = (raw.content[1] as { resource: { blob: string; mimeType: string } }).resource;
    expect(blob.mimeType).toBe('image/jph');
    expect([...Buffer.from(blob.blob, 'base64').subarray(0, 4)]).toEqual([0xff, 0x4f, 0xff, 0x51]);

    // A multi-frame instance: the third frame of the demo XA cine.
    const xaSet = structured<{ image_sets: Array<{ image_set_id: string }> }>(await h.call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0003' })).image_sets[0]!;
    const xaMeta = await h.call('get_image_set_metadata', { datastore_id: ds, image_set_id: xaSet.image_set_id });
    const xaFrames = structured<{ instances: Array<{ frame_ids: string[] }> }>(xaMeta).instances[0]!.frame_ids;
    const third = await h.call('get_image_frame', { datastore_id: ds, image_set_id: xaSet.image_set_id, image_frame_id: xaFrames[2]! });
    expect(structured<{ frame_number: number; checksum_ok: boolean }>(third)).toMatchObject({ frame_number: 3, checksum_ok: true });

    const both = await h.call('get_image_frame', { datastore_id: ds, image_set_id: ct.image_set_id, image_frame_id: frameId, preset: 'bone', window_center: 1, window_width: 2 });
    expect(both.isError).toBe(true);
    const missing = await h.call('get_image_frame', { datastore_id: ds, image_set_id: ct.image_set_id, image_frame_id: 'a'.repeat(32) });
    expect(missing.isError).toBe(true);
  });
});

describe('get_contact_sheet', () => {
  it('shows evenly spaced frames of a series in one labelled image', async () => {
    const r = await h.call('get_contact_sheet', { datastore_id: ds, image_set_id: ct.image_set_id, max_frames: 6, tile_size: 64 });
    expect(r.isError).toBeFalsy();
    const s = structured<{ frames_in_series: number; tiles: Array<{ label: string; image_frame_id: string }>; width: number; height: number }>(r);
    expect(s.frames_in_series).toBe(12);
    expect(s.tiles.map((t) => t.label)).toEqual(['1', '3', '5', '8', '10', '12']);
    const image = r.content.find((c) => c.type === 'image') as { data: string };
    const png = decode(Buffer.from(image.data, 'base64'));
    expect([png.width, png.height]).toEqual([s.width, s.height]);
    expect(textOf(r)).toContain('6 of 12 frame(s)');

    const xa = structured<{ image_sets: Array<{ image_set_id: string }> }>(await h.call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0003' })).image_sets[0]!;
    const cine = await h.call('get_contact_sheet', { datastore_id: ds, image_set_id: xa.image_set_id, preset: 'auto' });
    expect(structured<{ tiles: Array<{ label: string }> }>(cine).tiles.map((t) => t.label)).toEqual(['1.1', '1.2', '1.3', '1.4', '1.5', '1.6']);
    const wrong = await h.call('get_contact_sheet', { datastore_id: ds, image_set_id: ct.image_set_id, series_instance_uid: '1.2.3' });
    expect(wrong.isError).toBe(true);
  });
});

describe('curate_image_set prompt', () => {
  it('walks the agent through find, inspect, look, preview, apply with confirmation, verify', async () => {
    const { prompts } = await h.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['curate_image_set']);
    const prompt = await h.client.getPrompt({ name: 'curate_image_set', arguments: { goal: 'fix the patient name', datastore_id: ds } });
    const text = (prompt.messages[0]!.content as { text: string }).text;
    for (const tool of ['search_image_sets', 'get_image_set_metadata', 'get_image_frame', 'dry_run: true', 'compare_image_set_versions']) expect(text).toContain(tool);
    expect(text).toContain(`Datastore: ${ds}`);
    expect(h.client.getInstructions()).toContain('curate_image_set');
  });
});

describe('compare_image_set_versions', () => {
  it('lists what an update changed, level by level, and says when nothing did', async () => {
    const s = structured<{ image_sets: Array<{ image_set_id: string }> }>(await h.call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0002' })).image_sets[0]!;
    await h.call('update_image_set_metadata', { datastore_id: ds, image_set_id: s.image_set_id, latest_version_id: '1', updates: { Patient: { DICOM: { PatientName: 'RENAMED^MR' } }, Study: { DICOM: { StudyDescription: 'HEAD MR REVIEWED' } } } });
    const r = await h.call('compare_image_set_versions', { datastore_id: ds, image_set_id: s.image_set_id, from_version_id: '1' });
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toContain('2 change(s) from version 1 to 2');
    expect(textOf(r)).toContain('Patient PatientName: "DEMO^HEAD^MR" → "RENAMED^MR"');
    expect(structured<{ change_count: number; changes: Array<{ level: string; attribute: string; before?: unknown; after?: unknown }> }>(r).changes).toContainEqual({ kind: 'attribute', level: 'Study', attribute: 'StudyDescription', before: 'MR HEAD (SYNTHETIC) ', after: 'HEAD MR REVIEWED' });
    const same = await h.call('compare_image_set_versions', { datastore_id: ds, image_set_id: s.image_set_id, from_version_id: '2', to_version_id: '2' });
    expect(textOf(same)).toContain('have the same metadata');
    const missing = await h.call('compare_image_set_versions', { datastore_id: ds, image_set_id: s.image_set_id, from_version_id: '9' });
    expect(missing.isError).toBe(true);
  });
});

describe('write tools', () => {
  it('start_dicom_import_job, get_dicom_import_job, list_dicom_import_jobs', async () => {
    await putFiles(h.local.dataDir, 's3://mcp-test/in/', ctSeriesFiles({ slices: 2, seed: 4242, patientId: 'MCP-IMPORT' }));
    const started = await h.call('start_dicom_import_job', { datastore_id: ds, input_s3_uri: 's3://mcp-test/in/', output_s3_uri: 's3://mcp-test/out/', data_access_role_arn: 'arn:aws:iam::123456789012:role/ImportRole', job_name: 'from-mcp' });
    const jobId = structured<{ job_id: string }>(started).job_id;
    expect(textOf(started)).toContain(`job_id=${jobId}`);
    let status = '';
    for (let i = 0; i < 100 && status !== 'COMPLETED'; i++) {
      const got = await h.call('get_dicom_import_job', { datastore_id: ds, job_id: jobId });
      status = structured<{ status: string }>(got).status;
      if (status !== 'COMPLETED') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('COMPLETED');
    const list = await h.call('list_dicom_import_jobs', { datastore_id: ds, status: 'COMPLETED' });
    expect(textOf(list)).toContain(jobId);
    const bad = await h.call('start_dicom_import_job', { datastore_id: ds, input_s3_uri: 'file:///etc', output_s3_uri: 's3://x/y/', data_access_role_arn: 'arn:aws:iam::123456789012:role/R' });
    expect(bad.isError).toBe(true);
    const missing = await h.call('get_dicom_import_job', { datastore_id: ds, job_id: 'b'.repeat(32) });
    expect(missing.isError).toBe(true);
  });

  it('update_image_set_metadata: waits for the outcome; a stale version is a Conflict with the next step', async () => {
    const r = await h.call('update_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'CURATED' } } } });
    expect(r.isError).toBeFalsy();
    expect(structured<{ latest_version_id: string; state: string; workflow_status: string }>(r)).toMatchObject({ latest_version_id: '2', state: 'ACTIVE', workflow_status: 'UPDATED' });
    const stale = await h.call('update_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'X' } } } });
    expect(stale.isError).toBe(true);
    expect(textOf(stale)).toMatch(/ConflictException: .*latest is 2/);
    expect(textOf(stale)).toContain('get_image_set');
    const both = await h.call('update_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, latest_version_id: '2', updates: { Study: { DICOM: { StudyDescription: 'X' } } }, revert_to_version_id: '1' });
    expect(both.isError).toBe(true);
    const reverted = await h.call('update_image_set_metadata', { datastore_id: ds, image_set_id: ct.image_set_id, latest_version_id: '2', revert_to_version_id: '1' });
    expect(structured<{ latest_version_id: string }>(reverted).latest_version_id).toBe('3');
  });

  it('copy_image_set to a new image set, and delete_image_set on the copy', async () => {
    const copy = await h.call('copy_image_set', { datastore_id: ds, source_image_set_id: ct.image_set_id, source_latest_version_id: '3' });
    const dest = structured<{ destination: { image_set_id: string; workflow_status: string } }>(copy).destination;
    expect(dest.workflow_status).toBe('COPIED');
    const half = await h.call('copy_image_set', { datastore_id: ds, source_image_set_id: ct.image_set_id, source_latest_version_id: '3', destination_image_set_id: dest.image_set_id });
    expect(half.isError).toBe(true);
    const deleted = await h.call('delete_image_set', { datastore_id: ds, image_set_id: dest.image_set_id });
    expect(textOf(deleted)).toContain('is deleted');
    const again = await h.call('delete_image_set', { datastore_id: ds, image_set_id: dest.image_set_id });
    expect(again.isError).toBe(true);
  });

  it('tag_resource, list_tags_for_resource, untag_resource', async () => {
    const arn = structured<{ arn: string }>(await h.call('get_datastore', { datastore_id: ds })).arn;
    const tagged = await h.call('tag_resource', { resource_arn: arn, tags: { project: 'curation' } });
    expect(structured<{ tags: Record<string, string> }>(tagged).tags).toMatchObject({ project: 'curation', purpose: 'demo' });
    expect(textOf(await h.call('list_tags_for_resource', { resource_arn: arn }))).toContain('project=curation');
    const untagged = await h.call('untag_resource', { resource_arn: arn, tag_keys: ['project'] });
    expect(structured<{ tags: Record<string, string> }>(untagged).tags).not.toHaveProperty('project');
    const bad = await h.call('list_tags_for_resource', { resource_arn: 'arn:aws:s3:::bucket' });
    expect(bad.isError).toBe(true);
  });

  it('create_datastore and delete_datastore', async () => {
    const created = await h.call('create_datastore', { datastore_name: 'from-mcp' });
    const id = structured<{ datastore_id: string }>(created).datastore_id;
    expect(textOf(created)).toContain('get_datastore');
    let status = '';
    for (let i = 0; i < 100 && status !== 'ACTIVE'; i++) {
      status = structured<{ status: string }>(await h.call('get_datastore', { datastore_id: id })).status;
      if (status !== 'ACTIVE') await new Promise((r) => setTimeout(r, 20));
    }
    const deleted = await h.call('delete_datastore', { datastore_id: id });
    expect(structured<{ status: string }>(deleted).status).toBe('DELETING');
    const notEmpty = await h.call('delete_datastore', { datastore_id: ds });
    expect(notEmpty.isError).toBe(true);
    expect(textOf(notEmpty)).toMatch(/^TargetNotReady: .*still holds image sets/);
    const badName = await h.call('create_datastore', { datastore_name: 'no spaces allowed' });
    expect(badName.isError).toBe(true);
  });
});

describe('tool surface', () => {
  it('read-only by default: tools/list has no write tool, and calling one by name fails', async () => {
    const ro = await connectMcp({}, { local: h.local });
    const { tools } = await ro.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['compare_image_set_versions', 'get_contact_sheet', 'get_datastore', 'get_dicom_import_job', 'get_image_frame', 'get_image_set', 'get_image_set_metadata', 'list_datastores', 'list_dicom_import_jobs', 'list_image_set_versions', 'list_tags_for_resource', 'search_image_sets', 'search_dicom_studies', 'search_dicom_series', 'search_dicom_instances', 'get_dicom_instance_metadata', 'get_dicom_series_metadata'].sort(),
    );
    for (const t of tools) expect(t.annotations?.readOnlyHint).toBe(true);
    const refused = await ro.call('delete_image_set', { datastore_id: ds, image_set_id: ct.image_set_id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/not found/i);
    await ro.close();
  });

  it('with writes allowed, all 18 operations are tools with a title and all four hints set on purpose', async () => {
    const { tools } = await h.client.listTools();
    // The 18 HealthImaging operations, compare_image_set_versions and get_contact_sheet, and 7 DICOMweb tools.
    expect(tools).toHaveLength(27);
    for (const t of tools) {
      expect(t.name).toMatch(/^[a-z][a-z0-9_]{2,39}$/);
      expect(t.title, t.name).toBeTruthy();
      expect(t.description!.length, t.name).toBeGreaterThan(30);
      const a = t.annotations!;
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) expect(typeof a[hint], `${t.name}.${hint}`).toBe('boolean');
      expect(a.openWorldHint).toBe(false);
      if (a.readOnlyHint) expect(a.destructiveHint).toBe(false);
      for (const [field, schema] of Object.entries((t.inputSchema.properties ?? {}) as Record<string, { description?: string }>)) {
        expect(schema.description, `${t.name}.${field} needs a description`).toBeTruthy();
      }
    }
    const destructive = tools.filter((t) => t.annotations!.destructiveHint).map((t) => t.name).sort();
    expect(destructive).toEqual(['copy_image_set', 'delete_datastore', 'delete_image_set', 'untag_resource', 'update_image_set_metadata']);
  });
});
