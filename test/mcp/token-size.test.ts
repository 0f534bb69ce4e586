/**
 * Results sized for an agent's context: on an image set of 2,000 instances (and a datastore with more image sets than
 * a search page), every read tool with its default arguments answers in under 20,000 characters, and the views that
 * are cut say so and continue where they stopped.
 *
 * "Characters" are what a client puts into the model's context as text: the text blocks, the structured content and
 * the resource links. Image and binary payloads are left out of the count: clients pass them as images or files,
 * not text, and get_image_frame keeps PNGs under 1 MB.
 */
import { UpdateImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedUid, syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { createActiveDatastore, importFiles, waitActive } from '../helpers/import.js';
import { startTestService, type TestService } from '../helpers/local.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

const INSTANCES = 2000;
const LIMIT = 20_000;

let local: TestService;
let h: McpHarness;
let ds: string;
let big: string;
let jobId: string;

/** The characters of a result that reach the model as text (see the module comment). */
function textSize(result: CallToolResult): number {
  const content = result.content.map((c) => (c.type === 'image' ? { ...c, data: '' } : c.type === 'resource' && 'blob' in c.resource ? { ...c, resource: { ...c.resource, blob: '' } } : c));
  return JSON.stringify({ ...result, content }).length;
}

beforeAll(async () => {
  local = await startTestService();
  ds = await createActiveDatastore(local.client, 'large');
  const studyInstanceUID = derivedUid('token-size', 'study');
  const seriesInstanceUID = derivedUid('token-size', 'series');
  const files: Record<string, Uint8Array> = {};
  syntheticCtSeries({ patientName: 'LARGE^SERIES', patientId: 'LARGE-1', slices: INSTANCES, rows: 8, columns: 8, seed: 3, studyInstanceUID, seriesInstanceUID }).forEach((bytes, i) => {
    files[`big/${String(i + 1).padStart(4, '0')}.dcm`] = bytes;
  });
  // More image sets than a search page: one small series each.
  for (let i = 0; i < 30; i++) {
    const [bytes] = syntheticCtSeries({ patientName: `SMALL^${i}`, patientId: `SMALL-${i}`, slices: 1, rows: 8, columns: 8, seed: 100 + i });
    files[`small/${i}.dcm`] = bytes!;
  }
  // A bound, not a speed target: 2,030 files on a busy machine.
  const job = await importFiles(local.client, local.dataDir, ds, files, { timeoutMs: 200_000 });
  expect(job.jobStatus).toBe('COMPLETED');
  jobId = job.jobId;
  h = await connectMcp({}, { local });
  const found = await h.call('search_image_sets', { datastore_id: ds, series_instance_uid: seriesInstanceUID });
  big = (found.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;

  // Two versions that differ in 120 instances, for compare_image_set_versions: two updates of 60 removals each.
  const uids = Array.from({ length: 120 }, (_, i) => derivedUid(seriesInstanceUID, 'instance', i));
  for (const [version, batch] of [['1', uids.slice(0, 60)], ['2', uids.slice(60, 120)]] as const) {
    const removals = { SchemaVersion: '1.1', Study: { Series: { [seriesInstanceUID]: { Instances: Object.fromEntries(batch.map((sop) => [sop, {}])) } } } };
    await local.client.send(
      new UpdateImageSetMetadataCommand({
        datastoreId: ds,
        imageSetId: big,
        latestVersionId: version,
        force: true,
        updateImageSetMetadataUpdates: { DICOMUpdates: { removableAttributes: new TextEncoder().encode(JSON.stringify(removals)) } },
      }),
    );
    await waitActive(local.client, ds, big);
  }
}, 240_000);
afterAll(async () => {
  await h?.close();
  await local?.stop();
});

describe(`results on a ${INSTANCES}-instance image set`, () => {
  it(`every read tool with default arguments stays under ${LIMIT} characters`, async () => {
    const set = { datastore_id: ds, image_set_id: big };
    const summary = await h.call('get_image_set_metadata', set);
    const frame = (summary.structuredContent as { instances: Array<{ frame_ids: string[] }> }).instances[0]!.frame_ids[0]!;
    const arn = (await h.call('get_datastore', { datastore_id: ds })).structuredContent as { arn: string };
    const dicom = { datastore_id: ds, study_instance_uid: derivedUid('token-size', 'study'), series_instance_uid: derivedUid('token-size', 'series') };
    const calls: Array<[string, Record<string, unknown>]> = [
      ['list_datastores', {}],
      ['get_datastore', { datastore_id: ds }],
      ['search_image_sets', { datastore_id: ds }],
      ['get_image_set', set],
      ['get_image_set_metadata', set],
      ['get_image_frame', { ...set, image_frame_id: frame }],
      ['get_contact_sheet', set],
      ['list_image_set_versions', set],
      ['compare_image_set_versions', { ...set, from_version_id: '1' }],
      ['get_dicom_import_job', { datastore_id: ds, job_id: jobId }],
      ['list_dicom_import_jobs', { datastore_id: ds }],
      ['list_tags_for_resource', { resource_arn: arn.arn }],
      ['search_dicom_studies', { datastore_id: ds }],
      ['search_dicom_series', { datastore_id: ds }],
      ['search_dicom_instances', { datastore_id: ds, study_instance_uid: derivedUid('token-size', 'study') }],
      ['get_dicom_instance_metadata', { ...dicom, sop_instance_uid: derivedUid(dicom.series_instance_uid, 'instance', 500) }],
      ['get_dicom_series_metadata', dicom],
    ];
    const readTools = (await h.client.listTools()).tools.filter((t) => t.annotations?.readOnlyHint).map((t) => t.name);
    expect(readTools.filter((name) => !calls.some(([called]) => called === name)), 'read tools this test does not call yet').toEqual([]);

    const sizes: Record<string, number> = {};
    for (const [name, args] of calls) {
      const result = await h.call(name, args);
      expect(result.isError, `${name}: ${textOf(result)}`).toBeFalsy();
      sizes[name] = textSize(result);
    }
    for (const [name, size] of Object.entries(sizes)) expect(size, `${name} (${size} characters)`).toBeLessThan(LIMIT);
    // The checks above must have had something to cut.
    expect(textOf(summary)).toContain(`Instances 1–10 of ${INSTANCES - 120}`);
    const search = await h.call('search_image_sets', { datastore_id: ds });
    expect(textOf(search)).toContain('next_token=');
    const series = await h.call('get_dicom_series_metadata', dicom);
    expect(textOf(series)).toMatch(/^Common to all 1880 instances:/);
    expect(textOf(series)).toMatch(/Continue with offset=\d+/);
    expect(textOf(await h.call('search_dicom_instances', calls.find(([name]) => name === 'search_dicom_instances')![1]))).toContain('call again with offset=25');
  });

  it('a cut view says what was cut and continues where it stopped', async () => {
    const set = { datastore_id: ds, image_set_id: big, level: 'instance', max_instances: 100 };
    const first = await h.call('get_image_set_metadata', set);
    expect(textSize(first)).toBeLessThan(LIMIT);
    const s = first.structuredContent as { rows: Array<{ instance_number: number }>; truncated: boolean; next_token: string; total_rows: number };
    expect(s.truncated).toBe(true);
    expect(s.total_rows).toBe(INSTANCES - 120);
    expect(textOf(first)).toMatch(new RegExp(`Cut: ${100 - s.rows.length} more row\\(s\\) of this page did not fit`));
    expect(textOf(first)).toContain(`rows 1–${s.rows.length} of ${INSTANCES - 120}`);
    const second = await h.call('get_image_set_metadata', { ...set, next_token: s.next_token });
    const next = second.structuredContent as { rows: Array<{ instance_number: number }> };
    expect(next.rows[0]!.instance_number).toBe(s.rows.at(-1)!.instance_number + 1);

    const compared = await h.call('compare_image_set_versions', { datastore_id: ds, image_set_id: big, from_version_id: '1', max_changes: 500 });
    expect(textSize(compared)).toBeLessThan(LIMIT);
    const c = compared.structuredContent as { change_count: number; changes: unknown[]; truncated: boolean };
    expect(c.change_count).toBe(120);
    expect(c.truncated).toBe(true);
    expect(textOf(compared)).toMatch(new RegExp(`… ${120 - c.changes.length} more`));
  });
});
