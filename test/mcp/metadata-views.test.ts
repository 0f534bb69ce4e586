/** get_image_set_metadata's views: levels, chosen attributes, filters, paging and formats, on the demo data. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticCtSeries, syntheticMultiframe } from '../../src/dicom/synthetic.js';
import { withAttributes } from '../helpers/dicom-files.js';
import { createActiveDatastore, importFiles } from '../helpers/import.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

let h: McpHarness;
let ds: string;
let ct: string;
let xa: string;

interface Row {
  level: string;
  series_instance_uid?: string;
  sop_instance_uid?: string;
  instance_number?: number;
  frame_count?: number;
  frame_ids?: string[];
  attributes: Record<string, unknown>;
}
interface ViewResult {
  level: string;
  rows?: Row[];
  total_rows?: number;
  next_token?: string;
  truncated?: boolean;
  missing_attributes?: string[];
  instances?: Array<{ instance_number?: number; sop_instance_uid: string }>;
  resource_uri: string;
}

const view = async (args: Record<string, unknown>) => {
  const r = await h.call('get_image_set_metadata', { datastore_id: ds, ...args });
  expect(r.isError, textOf(r)).toBeFalsy();
  return { text: textOf(r), s: r.structuredContent as unknown as ViewResult, result: r };
};

beforeAll(async () => {
  h = await connectMcp();
  ds = h.local.service.demoDatastoreId!;
  const id = async (patientId: string) =>
    ((await h.call('search_image_sets', { datastore_id: ds, patient_id: patientId })).structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;
  ct = await id('DEMO-0001');
  xa = await id('DEMO-0003');
});
afterAll(async () => h.close());

describe('get_image_set_metadata views', () => {
  it('pages the summary\'s instances with next_token, and keeps the resource link', async () => {
    const first = await view({ image_set_id: ct, max_instances: 5 });
    expect(first.s.level).toBe('summary');
    expect(first.text).toContain('Patient: DEMO^CHEST^CT (ID DEMO-0001)');
    expect(first.text).toContain('Instances 1–5 of 12');
    expect(first.s.instances!.map((i) => i.instance_number)).toEqual([1, 2, 3, 4, 5]);
    expect(first.result.content.some((c) => c.type === 'resource_link' && c.uri === first.s.resource_uri)).toBe(true);
    const second = await view({ image_set_id: ct, max_instances: 5, next_token: first.s.next_token });
    expect(second.s.instances!.map((i) => i.instance_number)).toEqual([6, 7, 8, 9, 10]);
    const third = await view({ image_set_id: ct, max_instances: 5, next_token: second.s.next_token });
    expect(third.s.instances!.map((i) => i.instance_number)).toEqual([11, 12]);
    expect(third.s.next_token).toBeUndefined();
    expect(third.text).toContain('Instances 11–12 of 12');
  });

  it('shows one level\'s attributes', async () => {
    const patient = await view({ image_set_id: ct, level: 'patient' });
    expect(patient.s.rows).toHaveLength(1);
    expect(patient.s.rows![0]!.attributes).toMatchObject({ PatientName: 'DEMO^CHEST^CT', PatientID: 'DEMO-0001 ' });
    expect(patient.text).toContain('  PatientName: DEMO^CHEST^CT');
    const study = await view({ image_set_id: ct, level: 'study' });
    expect(study.text).toMatch(/StudyInstanceUID: [0-9.]+/);
    expect(study.text).not.toContain('PatientName');
    const series = await view({ image_set_id: ct, level: 'series' });
    expect(series.s.rows![0]!.attributes.Modality).toBe('CT');
    expect(series.text).toMatch(/^Series [0-9.]+$/m);
  });

  it('tables chosen attributes per instance, by keyword or tag, looked up at their own level', async () => {
    const { text, s } = await view({ image_set_id: ct, attributes: ['PatientName', '(0020,0013)', '00180050', 'SliceLocation'], max_instances: 3 });
    expect(s.level).toBe('instance');
    expect(s.total_rows).toBe(12);
    expect(s.rows!.map((r) => Object.keys(r.attributes))).toEqual(Array(3).fill(['PatientName', 'InstanceNumber', 'SliceThickness', 'SliceLocation']));
    const lines = text.split('\n');
    expect(lines[1]).toBe('# | SOPInstanceUID | frames | PatientName | InstanceNumber | SliceThickness | SliceLocation');
    expect(lines[2]).toMatch(/^1 \| [0-9.]+ \| 1 \| DEMO\^CHEST\^CT \| 1 \| \d+(\.\d+)? \| -?\d/);
    expect(text).toContain('rows 1–3 of 12');
    expect(text).toContain(`next_token="${s.next_token}"`);
    const next = await view({ image_set_id: ct, attributes: ['PatientName', '(0020,0013)', '00180050', 'SliceLocation'], max_instances: 3, next_token: s.next_token });
    expect(next.s.rows!.map((r) => r.instance_number)).toEqual([4, 5, 6]);

    const onlyPatient = await view({ image_set_id: ct, attributes: ['PatientName', 'PatientSex'] });
    expect(onlyPatient.s.level).toBe('patient');
    const missing = await view({ image_set_id: ct, attributes: ['PatientName', 'EthnicGroup'] });
    expect(missing.s.missing_attributes).toEqual(['EthnicGroup']);
    expect(missing.text).toContain('Not present: EthnicGroup.');
  });

  it('filters to a series or one instance, which lists all its frame IDs', async () => {
    const summary = await view({ image_set_id: xa });
    const series = (summary.s as unknown as { series: Array<{ series_instance_uid: string; frame_count: number }> }).series[0]!;
    const instances = await view({ image_set_id: xa, level: 'instance', series_instance_uid: series.series_instance_uid, attributes: ['NumberOfFrames'] });
    const sop = instances.s.rows![0]!.sop_instance_uid!;
    const one = await view({ image_set_id: xa, sop_instance_uid: sop });
    expect(one.s.level).toBe('instance');
    expect(one.s.rows).toHaveLength(1);
    expect(one.s.rows![0]!.frame_ids).toHaveLength(series.frame_count);
    expect(series.frame_count).toBeGreaterThan(3);
    expect(one.text).toContain(one.s.rows![0]!.frame_ids!.at(-1)!);
    const seriesOnly = await view({ image_set_id: xa, series_instance_uid: series.series_instance_uid });
    expect(seriesOnly.s.level).toBe('series');
  });

  it('pages the frame IDs of one instance with many frames', async () => {
    const store = await createActiveDatastore(h.local.client, 'multiframe');
    const file = syntheticMultiframe({ patientName: 'MANY^FRAMES', patientId: 'MF-1', frames: 230, rows: 8, columns: 8, seed: 5 });
    expect((await importFiles(h.local.client, h.local.dataDir, store, { 'mf.dcm': file })).jobStatus).toBe('COMPLETED');
    const found = await h.call('search_image_sets', { datastore_id: store });
    const id = (found.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;
    const sop = ((await h.call('get_image_set_metadata', { datastore_id: store, image_set_id: id })).structuredContent as { instances: Array<{ sop_instance_uid: string }> }).instances[0]!
      .sop_instance_uid;
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await h.call('get_image_set_metadata', { datastore_id: store, image_set_id: id, sop_instance_uid: sop, attributes: ['NumberOfFrames'], ...(token && { next_token: token }) });
      const s = page.structuredContent as unknown as ViewResult & { rows: Array<Row & { frame_offset: number }> };
      expect(s.rows[0]!.frame_offset).toBe(ids.length);
      expect(textOf(page)).toContain(`Frame IDs, frames ${ids.length + 1}–${ids.length + s.rows[0]!.frame_ids!.length} of 230: ${s.rows[0]!.frame_ids!.join(', ')}`);
      ids.push(...s.rows[0]!.frame_ids!);
      if (s.next_token) expect(textOf(page)).toContain(`More frame IDs: call again with the same arguments and next_token="${s.next_token}"`);
      token = s.next_token;
    } while (token);
    expect(ids).toHaveLength(230);
    expect(new Set(ids).size).toBe(230);
    const frame = await h.call('get_image_frame', { datastore_id: store, image_set_id: id, image_frame_id: ids[229] });
    expect(textOf(frame)).toContain('frame 230 of instance');
  });

  it('cuts a single instance too big for the cap to its first attributes, and says so', async () => {
    const store = await createActiveDatastore(h.local.client, 'wide');
    const elements = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`0011${(0x1000 + i).toString(16).toUpperCase()}`, { vr: 'LO', Value: [`value ${i} `.padEnd(60, 'x')] }]),
    );
    const [file] = syntheticCtSeries({ patientName: 'WIDE^INSTANCE', patientId: 'WIDE-1', slices: 1, rows: 8, columns: 8, seed: 9 });
    const wide = withAttributes(file!, {}, { '00110010': { vr: 'LO', Value: ['WIDE CREATOR'] }, ...elements });
    expect((await importFiles(h.local.client, h.local.dataDir, store, { 'wide.dcm': wide })).jobStatus).toBe('COMPLETED');
    const found = await h.call('search_image_sets', { datastore_id: store });
    const id = (found.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;
    for (const format of ['table', 'json']) {
      const r = await h.call('get_image_set_metadata', { datastore_id: store, image_set_id: id, level: 'instance', format });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(JSON.stringify(r).length).toBeLessThan(20_000);
      const s = r.structuredContent as unknown as ViewResult;
      expect(s.truncated).toBe(true);
      expect(Object.keys(s.rows![0]!.attributes).length).toBeLessThan(400);
      expect(textOf(r)).toContain('Cut: the row has more attributes than fit');
    }
    const chosen = await h.call('get_image_set_metadata', { datastore_id: store, image_set_id: id, attributes: ['0011118F'] });
    expect(textOf(chosen)).toMatch(/\| value 399 x+$/m);
  });

  it('returns the rows as JSON text with format json', async () => {
    const { text, s } = await view({ image_set_id: ct, attributes: ['InstanceNumber', 'ImagePositionPatient'], max_instances: 2, format: 'json' });
    const rows = JSON.parse(text.split('\n').slice(1, -1).join('\n')) as Row[];
    expect(rows).toEqual(s.rows);
    expect(rows[0]!.attributes.ImagePositionPatient).toHaveLength(3);
  });

  it('refuses what it cannot show, saying what to do', async () => {
    const call = (args: Record<string, unknown>) => h.call('get_image_set_metadata', { datastore_id: ds, image_set_id: ct, ...args });
    const unknown = await call({ attributes: ['PatientNmae'] });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/^InvalidViewRequest: 'PatientNmae' is neither a DICOM keyword/);
    const noSeries = await call({ series_instance_uid: '1.2.3' });
    expect(textOf(noSeries)).toContain('Series 1.2.3 is not in this image set; its series are:');
    const summaryWithFilter = await call({ level: 'summary', attributes: ['PatientName'] });
    expect(textOf(summaryWithFilter)).toContain('The summary takes no attributes');
    const first = await view({ image_set_id: ct, max_instances: 2 });
    const otherRequest = await call({ max_instances: 3, next_token: first.s.next_token });
    expect(textOf(otherRequest)).toContain('next_token belongs to a request with other');
    const garbage = await call({ next_token: 'not-a-token' });
    expect(textOf(garbage)).toContain('next_token is not one this tool returned');
  });
});
