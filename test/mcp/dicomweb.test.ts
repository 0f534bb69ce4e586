/**
 * The DICOMweb tools through a real MCP client against the real local service: store_dicom (STOW-RS, streamed and
 * signed), the QIDO-RS searches, the WADO-RS metadata reads and save_dicom_instance, with every failure the issue
 * names (non-DICOM file, wrong study, paths outside the allowed directories, oversize, bad signature), progress
 * notifications, cancellation and PHI redaction.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GetImageSetCommand } from '@aws-sdk/client-medical-imaging';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { dicomwebRoot } from '../../src/aws/dicomweb.js';
import { loadConfig } from '../../src/config.js';
import { parseP10 } from '../../src/dicom/p10.js';
import { createServer } from '../../src/server.js';
import { attributesOf, ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore } from '../helpers/import.js';
import { startTestService, tempDir, waitFor, type TestService } from '../helpers/local.js';
import { capturedAudit, connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

let local: TestService;
let h: McpHarness;
let ds: string;
let dir: string;
let outside: string;

beforeAll(async () => {
  local = await startTestService({ seedDemo: true });
  dir = tempDir('himcp-dicomweb-');
  outside = tempDir('himcp-outside-');
  h = await connectMcp({ allowWrite: true, confirmMode: 'none', allowDir: dir }, { local });
  ds = await createActiveDatastore(local.client, 'dicomweb-tools');
});
afterAll(async () => {
  await h.close();
  await local.stop();
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

const structured = <T>(r: CallToolResult) => r.structuredContent as T;
let seed = 500;
/** A fresh series written to `where`; its files' paths and UIDs. */
async function writeSeries(where: string, slices = 2, options: { size?: number; patientId?: string; patientName?: string } = {}) {
  const files = ctSeriesFiles({ slices, seed: seed++, size: options.size ?? 32, patientId: options.patientId ?? `DW-${seed}`, ...(options.patientName && { patientName: options.patientName }) });
  const sub = await fs.mkdtemp(path.join(where, 'series-'));
  const paths: string[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    await fs.writeFile(path.join(sub, name), bytes);
    paths.push(path.join(sub, name));
  }
  const a = attributesOf(Object.values(files)[0]!);
  return { paths, bytes: Object.values(files), study: String(a.StudyInstanceUID), series: String(a.SeriesInstanceUID), patientId: String(a.PatientID), sops: Object.values(files).map((f) => String(attributesOf(f).SOPInstanceUID)) };
}

interface StoreResult {
  status: string;
  stored: Array<{ file: string; sop_instance_uid: string; series_instance_uid: string }>;
  failed: Array<{ file: string; reason: string; reason_code?: number; sent: boolean }>;
  image_sets: Array<{ image_set_id: string; series_instance_uid: string; is_primary: boolean }>;
}

async function studyInstances(study: string): Promise<number> {
  const found = await h.call('search_dicom_instances', { datastore_id: ds, study_instance_uid: study });
  expect(found.isError).toBeFalsy();
  return structured<{ count: number }>(found).count;
}

describe('endpoint paths', () => {
  it('maps HealthImaging hosts, {datastore_id} templates and other DICOMweb roots', () => {
    const id = 'a'.repeat(32);
    expect(dicomwebRoot('https://dicom-medical-imaging.us-east-1.amazonaws.com', id)).toBe(`https://dicom-medical-imaging.us-east-1.amazonaws.com/datastore/${id}`);
    expect(dicomwebRoot('http://127.0.0.1:9000/', id)).toBe(`http://127.0.0.1:9000/datastore/${id}`);
    expect(dicomwebRoot('http://127.0.0.1:8042/dicom-web', id)).toBe('http://127.0.0.1:8042/dicom-web');
    expect(dicomwebRoot('http://127.0.0.1:8042/dicom-web/', id)).toBe('http://127.0.0.1:8042/dicom-web');
    expect(dicomwebRoot('https://proxy.example/ahi/{datastore_id}/', id)).toBe(`https://proxy.example/ahi/${id}`);
    expect(dicomwebRoot(new URL('https://proxy.example/ahi/{datastore_id}').href, id)).toBe(`https://proxy.example/ahi/${id}`);
  });
});

describe('store_dicom', () => {
  it('streams files, reports progress, and names the image sets they landed in', async () => {
    const s = await writeSeries(dir, 3);
    const progress: Progress[] = [];
    const result = (await h.client.callTool(
      { name: 'store_dicom', arguments: { datastore_id: ds, paths: s.paths.map((p) => path.relative(dir, p)) } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p) },
    )) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = structured<StoreResult>(result);
    expect(out.status).toBe('stored');
    expect(out.stored.map((x) => x.sop_instance_uid).sort()).toEqual([...s.sops].sort());
    expect(out.failed).toEqual([]);
    expect(out.image_sets).toHaveLength(1);
    expect(out.image_sets[0]).toMatchObject({ series_instance_uid: s.series, is_primary: true });
    expect(textOf(result)).toContain(`Stored 3 of 3 files in datastore ${ds}`);
    expect(textOf(result)).toContain(out.image_sets[0]!.image_set_id);
    // The image set is real: the cloud-native API knows it.
    const got = await local.client.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: out.image_sets[0]!.image_set_id }));
    expect(got.imageSetState).toBe('ACTIVE');
    // Progress: increasing, ending at the total, counting files.
    expect(progress.length).toBeGreaterThan(0);
    const total = s.bytes.reduce((n, b) => n + b.length, 0);
    expect(progress.at(-1)).toMatchObject({ progress: total, total, message: '3 of 3 files sent' });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
    // Audited as a write.
    expect(h.audit.at(-1)).toMatchObject({ tool: 'store_dicom', outcome: 'applied' });
    expect(await studyInstances(s.study)).toBe(3);
  });

  it('stores base64 input into a named study (StoreDICOMStudy)', async () => {
    const s = await writeSeries(outside, 1);
    const result = await h.call('store_dicom', { datastore_id: ds, files_base64: [Buffer.from(s.bytes[0]!).toString('base64')], study_instance_uid: s.study });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(structured<StoreResult>(result).stored).toEqual([expect.objectContaining({ file: 'files_base64[0]', sop_instance_uid: s.sops[0] })]);
  });

  it('reports a non-DICOM file and a wrong-study file per file, does not send them, and stores the rest', async () => {
    const s = await writeSeries(dir, 2);
    const other = await writeSeries(dir, 1);
    const text = path.join(dir, 'notes.txt');
    await fs.writeFile(text, 'not DICOM at all');
    const truncated = path.join(dir, 'truncated.dcm');
    await fs.writeFile(truncated, (await fs.readFile(s.paths[1]!)).subarray(0, 600));
    const result = await h.call('store_dicom', { datastore_id: ds, study_instance_uid: s.study, paths: [s.paths[0], text, other.paths[0], truncated, s.paths[1]] });
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = structured<StoreResult>(result);
    expect(out.status).toBe('partial');
    expect(out.stored.map((x) => x.sop_instance_uid).sort()).toEqual([...s.sops].sort());
    expect(out.failed).toEqual([
      expect.objectContaining({ file: text, sent: false, reason_code: 0xc000, reason: expect.stringMatching(/not a usable DICOM file: not a DICOM P10 file/) }),
      expect.objectContaining({ file: other.paths[0], sent: false, reason_code: 0xa900, reason: `belongs to study ${other.study}, not to study ${s.study}` }),
      expect.objectContaining({ file: truncated, sent: false, reason: expect.stringMatching(/not a usable DICOM file/) }),
    ]);
    expect(textOf(result)).toMatch(/Stored 2 of 5 files/);
    expect(textOf(result)).toContain('notes.txt: not a usable DICOM file');
    expect(await studyInstances(other.study)).toBe(0);
  });

  it('checks large files on their first bytes where it can, in order, with files read whole and refused among them', async () => {
    // 512² CT files of about 512 KB: most are decided on their first 64 KB (pixel data last, fitting the file).
    const s = await writeSeries(dir, 4, { size: 512 });
    expect(s.bytes[0]!.length).toBeGreaterThan(256 * 1024);
    const cut = path.join(dir, 'cut-in-pixels.dcm');
    await fs.writeFile(cut, s.bytes[1]!.subarray(0, s.bytes[1]!.length - 1000));
    // Trailing padding after the pixel data: the first bytes cannot tell, so the file is read whole, and it is fine.
    const padded = path.join(dir, 'trailing-padding.dcm');
    const padding = Buffer.alloc(16);
    padding.writeUInt16LE(0xfffc, 0);
    padding.writeUInt16LE(0xfffc, 2);
    padding.write('OB', 4, 'latin1');
    padding.writeUInt32LE(4, 8);
    await fs.writeFile(padded, Buffer.concat([s.bytes[2]!, padding]));
    const notes = path.join(dir, 'big-notes.txt');
    await fs.writeFile(notes, Buffer.alloc(300 * 1024, 'x'));
    const result = await h.call('store_dicom', { datastore_id: ds, paths: [s.paths[0], cut, padded, notes, s.paths[3], s.paths[0]] });
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = structured<StoreResult>(result);
    expect(out.stored.map((x) => x.file)).toEqual([s.paths[0], padded, s.paths[3]]);
    expect(out.failed).toEqual([
      expect.objectContaining({ file: cut, sent: false, reason: expect.stringMatching(/^not a usable DICOM file: truncated file: \(7FE0,0010\) declares \d+ bytes but only \d+ remain/) }),
      expect.objectContaining({ file: notes, sent: false, reason: expect.stringMatching(/no DICM preamble/) }),
      expect.objectContaining({ file: s.paths[0], sent: false, reason: `the same instance as ${s.paths[0]}` }),
    ]);
  });

  it('fails as a whole, naming each file, when nothing can be stored', async () => {
    const text = path.join(dir, 'only-notes.txt');
    await fs.writeFile(text, 'hello');
    const result = await h.call('store_dicom', { datastore_id: ds, paths: [text] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^StoreFailed: no file could be sent; nothing was stored:\n {2}.*only-notes\.txt: not a usable DICOM file/);
    expect(h.audit.at(-1)).toMatchObject({ tool: 'store_dicom', outcome: 'failed', error: 'StoreFailed' });
  });

  it('refuses paths outside the allowed directories (absolute, .., symlink) and sends nothing', async () => {
    const s = await writeSeries(outside, 1);
    const link = path.join(dir, 'link-out.dcm');
    await fs.symlink(s.paths[0]!, link);
    const inside = await writeSeries(dir, 1);
    for (const bad of [s.paths[0]!, path.join('..', path.relative(path.dirname(dir), s.paths[0]!)), 'link-out.dcm']) {
      const result = await h.call('store_dicom', { datastore_id: ds, paths: [inside.paths[0], bad] });
      expect(result.isError, bad).toBe(true);
      expect(textOf(result)).toMatch(/^PathNotAllowed: .* is outside the allowed directories/);
      expect(textOf(result)).toContain('--allow-dir');
    }
    expect(await studyInstances(inside.study)).toBe(0);
    expect(await studyInstances(s.study)).toBe(0);
  });

  it('refuses a store over 1 GB before reading the files', async () => {
    const big = path.join(dir, 'huge.dcm');
    const handle = await fs.open(big, 'w');
    await handle.truncate(1024 ** 3 + 1); // sparse: no disk space used
    await handle.close();
    const result = await h.call('store_dicom', { datastore_id: ds, paths: [big] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^RequestTooLarge: the files add up to 1073741825 bytes; one store is at most 1073741824 bytes.*\nNext step: Store the files in several calls/s);
    await fs.rm(big);
  });

  it('refuses base64 input over its cap', async () => {
    const result = await h.call('store_dicom', { datastore_id: ds, files_base64: [Buffer.alloc(16 * 1024 * 1024 + 3).toString('base64')] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^RequestTooLarge: files_base64 holds 16777219 bytes.*pass paths instead/s);
  });

  it('names the endpoint\'s own size limit when it refuses the body', async () => {
    const small = await startTestService({ maxStoreBytes: 4096 });
    const hs = await connectMcp({ allowWrite: true, confirmMode: 'none', allowDir: dir }, { local: small });
    try {
      const smallDs = await createActiveDatastore(small.client, 'small');
      const s = await writeSeries(dir, 2, { size: 64 });
      const result = await hs.call('store_dicom', { datastore_id: smallDs, paths: s.paths });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^RequestEntityTooLargeException: .*\nNext step: The request is larger than the DICOMweb endpoint accepts/s);
      expect(textOf(result)).toMatch(/AWS request ID: \S+/);
    } finally {
      await hs.close();
      await small.stop();
    }
  });

  it('cancellation stops the upload and stores nothing', async () => {
    const s = await writeSeries(dir, 24, { size: 512 });
    const before = h.audit.length;
    const abort = new AbortController();
    const call = h.client.callTool({ name: 'store_dicom', arguments: { datastore_id: ds, paths: s.paths } }, CallToolResultSchema, {
      signal: abort.signal,
      onprogress: () => abort.abort(),
    });
    await expect(call).rejects.toThrow(/abort/i);
    // The server records the call's end in its audit log once the handler has given up.
    await waitFor(() => Promise.resolve(h.audit.length), (n) => n > before, 30_000, 'the cancelled store to end');
    expect(h.audit.at(-1)).toMatchObject({ tool: 'store_dicom', outcome: 'failed', error: 'AbortError' });
    expect(await studyInstances(s.study)).toBe(0);
  });
});

describe('QIDO-RS and WADO-RS tools', () => {
  let s: Awaited<ReturnType<typeof writeSeries>>;
  beforeAll(async () => {
    s = await writeSeries(dir, 3, { patientName: 'QIDO^TOOLS' });
    const stored = await h.call('store_dicom', { datastore_id: ds, paths: s.paths });
    expect(stored.isError, textOf(stored)).toBeFalsy();
  });

  it('search_dicom_studies: one row per study, match keys, wildcards, paging', async () => {
    const found = await h.call('search_dicom_studies', { datastore_id: ds, match: { PatientID: s.patientId } });
    expect(found.isError, textOf(found)).toBeFalsy();
    const out = structured<{ columns: string[]; rows: string[][]; count: number; next_offset?: number }>(found);
    expect(out.count).toBe(1);
    expect(out.rows[0]![out.columns.indexOf('StudyInstanceUID')]).toBe(s.study);
    expect(out.rows[0]![out.columns.indexOf('PatientName')]).toBe('QIDO^TOOLS');
    expect(out.rows[0]![out.columns.indexOf('NumberOfStudyRelatedInstances')]).toBe('3');
    expect(textOf(found)).toMatch(/^Studies 1–1:\nStudyInstanceUID \| StudyDate \| PatientID \| PatientName/);
    expect(textOf(found)).toContain('That is all.');

    const wild = await h.call('search_dicom_studies', { datastore_id: ds, match: { PatientName: 'qido*' }, fuzzy_matching: true, include_fields: ['PatientSex', '00080020'] });
    expect(structured<{ rows: string[][] }>(wild).rows).toHaveLength(1);
    expect(structured<{ columns: string[] }>(wild).columns).toContain('PatientSex');

    const page = await h.call('search_dicom_studies', { datastore_id: ds, limit: 1 });
    expect(structured<{ next_offset?: number }>(page).next_offset).toBe(1);
    expect(textOf(page)).toContain('call again with offset=1');

    const none = await h.call('search_dicom_studies', { datastore_id: ds, match: { PatientID: 'NOBODY' } });
    expect(textOf(none)).toBe('No studies match.');
    const badKey = await h.call('search_dicom_studies', { datastore_id: ds, match: { Bogus: 'x' } });
    expect(badKey.isError).toBe(true);
    const badField = await h.call('search_dicom_studies', { datastore_id: ds, include_fields: ['NotAnAttribute'] });
    expect(badField.isError).toBe(true);
    expect(textOf(badField)).toContain("unknown DICOM attribute 'NotAnAttribute'");
  });

  it('search_dicom_series and search_dicom_instances carry the UIDs the next call needs', async () => {
    const series = await h.call('search_dicom_series', { datastore_id: ds, study_instance_uid: s.study });
    const so = structured<{ columns: string[]; rows: string[][] }>(series);
    expect(so.rows).toHaveLength(1);
    expect(so.rows[0]![so.columns.indexOf('SeriesInstanceUID')]).toBe(s.series);
    expect(so.rows[0]![so.columns.indexOf('Modality')]).toBe('CT');

    const instances = await h.call('search_dicom_instances', { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, limit: 2, offset: 1 });
    const io = structured<{ columns: string[]; rows: string[][]; offset: number }>(instances);
    expect(io.rows).toHaveLength(2);
    expect(io.rows.map((r) => r[io.columns.indexOf('SeriesInstanceUID')])).toEqual([s.series, s.series]);
    expect(io.rows.map((r) => r[io.columns.indexOf('InstanceNumber')])).toEqual(['2', '3']);
    expect(textOf(instances)).toMatch(/^Instances 2–3:/);

    const noStudy = await h.call('search_dicom_instances', { datastore_id: ds, series_instance_uid: s.series });
    expect(noStudy.isError).toBe(true);
    expect(textOf(noStudy)).toContain('series_instance_uid needs study_instance_uid');
  });

  it('get_dicom_instance_metadata: attribute selection by keyword or tag, and a cap that says what was cut', async () => {
    const args = { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, sop_instance_uid: s.sops[0] };
    const some = await h.call('get_dicom_instance_metadata', { ...args, attributes: ['PatientName', '00280010', '(0028,0011)', 'PatientWeight'] });
    expect(some.isError, textOf(some)).toBeFalsy();
    expect(textOf(some)).toBe('(0010,0010) PatientName PN: QIDO^TOOLS\n(0028,0010) Rows US: 32\n(0028,0011) Columns US: 32\nNot present: PatientWeight.');
    const all = await h.call('get_dicom_instance_metadata', args);
    expect(textOf(all)).toContain('(0008,0018) SOPInstanceUID UI: ' + s.sops[0]);
    expect(structured<{ cut: boolean }>(all).cut).toBe(false);
    const cut = await h.call('get_dicom_instance_metadata', { ...args, max_chars: 1000 });
    expect(textOf(cut).length + JSON.stringify(cut.structuredContent).length).toBeLessThan(1600);
    expect(textOf(cut)).toMatch(/Cut at max_chars=1000: \d+ of \d+ attributes shown; pass attributes to choose/);
    const missing = await h.call('get_dicom_instance_metadata', { ...args, sop_instance_uid: '1.2.3.4' });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/^ResourceNotFoundException: .*\nNext step: Check the datastore ID and the UIDs/s);
  });

  it('get_dicom_series_metadata: one block per instance', async () => {
    const result = await h.call('get_dicom_series_metadata', { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, attributes: ['InstanceNumber', 'SOPInstanceUID'] });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(structured<{ instances: number; shown: number }>(result)).toMatchObject({ instances: 3, shown: 3 });
    expect(textOf(result).match(/^Instance \d of 3: /gm)).toHaveLength(3);
    expect(textOf(result)).not.toContain('Common to all');
    // Without attributes: what the instances share once, then what differs.
    const all = await h.call('get_dicom_series_metadata', { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, max_chars: 100_000 });
    expect(textOf(all)).toMatch(/^Common to all 3 instances:\n {2}\(0008,0005\) SpecificCharacterSet CS: ISO_IR 100\n/);
    expect(textOf(all)).toContain('  (0010,0010) PatientName PN: QIDO^TOOLS');
    expect(textOf(all).match(/PatientName/g)).toHaveLength(1);
    expect(textOf(all)).toMatch(/^Instance 2 of 3: \S+ \(InstanceNumber 2\)\n(  .*\n)*  \(0020,0013\) InstanceNumber IS: 2$/m);
    const out = structured<{ common: Record<string, unknown>; datasets: Array<Record<string, unknown>>; cut: boolean }>(all);
    expect(out.cut).toBe(false);
    expect(out.common['00100010']).toBeDefined();
    expect(out.datasets.map((d) => Object.keys(d).includes('00080018'))).toEqual([true, true, true]);
    // Cut: the next offset continues where the output stopped.
    const narrow = { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, attributes: ['SOPInstanceUID', 'InstanceNumber', 'ImagePositionPatient'], max_chars: 1000 };
    const page1 = await h.call('get_dicom_series_metadata', narrow);
    const p1 = structured<{ next_offset?: number; cut: boolean }>(page1);
    expect(p1.cut).toBe(true);
    expect(textOf(page1)).toMatch(new RegExp(`Cut at max_chars=1000: instances 1–\\d of 3 shown.*Continue with offset=${p1.next_offset}`));
    const page2 = await h.call('get_dicom_series_metadata', { ...narrow, offset: p1.next_offset });
    expect(textOf(page2)).toContain(`Instance ${p1.next_offset! + 1} of 3: `);
  });

  it('save_dicom_instance writes a Part 10 file atomically, only inside the allowed directories, never over a file', async () => {
    const args = { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, sop_instance_uid: s.sops[1] };
    const saved = await h.call('save_dicom_instance', { ...args, path: 'saved.dcm' });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    const file = path.join(await fs.realpath(dir), 'saved.dcm');
    expect(structured<{ path: string; transfer_syntax_uid: string }>(saved)).toMatchObject({ path: file, transfer_syntax_uid: '1.2.840.10008.1.2.1' });
    const parsed = parseP10(await fs.readFile(file));
    expect(parsed.sopInstanceUID).toBe(s.sops[1]);
    expect(parsed.frameData).toHaveLength(1);
    expect((await fs.readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const stored = await h.call('save_dicom_instance', { ...args, path: 'stored.dcm', transfer_syntax: 'htj2k' });
    expect(structured<{ transfer_syntax_uid: string }>(stored).transfer_syntax_uid).toBe('1.2.840.10008.1.2.4.202');

    const again = await h.call('save_dicom_instance', { ...args, path: 'saved.dcm' });
    expect(textOf(again)).toMatch(/^FileExists: /);
    const out = await h.call('save_dicom_instance', { ...args, path: path.join(outside, 'x.dcm') });
    expect(textOf(out)).toMatch(/^PathNotAllowed: /);
    const up = await h.call('save_dicom_instance', { ...args, path: '../escape.dcm' });
    expect(textOf(up)).toMatch(/^PathNotAllowed: /);
    expect(h.audit.filter((e) => e.tool === 'save_dicom_instance').map((e) => e.outcome)).toEqual(['applied', 'applied', 'refused', 'refused', 'refused']);
  });
});

describe('configuration', () => {
  it('--redact-phi: no patient-identifying value in search or metadata results', async () => {
    const hr = await connectMcp({ redactPhi: true, allowWrite: true, confirmMode: 'none', allowDir: dir }, { local });
    try {
      const s = await writeSeries(dir, 1, { patientName: 'SECRET^NAME', patientId: 'SECRET-ID-42' });
      const stored = await hr.call('store_dicom', { datastore_id: ds, paths: s.paths });
      expect(stored.isError, textOf(stored)).toBeFalsy();
      const results = [
        await hr.call('search_dicom_studies', { datastore_id: ds, match: { PatientID: 'SECRET-ID-42' } }),
        await hr.call('search_dicom_series', { datastore_id: ds, study_instance_uid: s.study, include_fields: ['PatientName', 'PatientID', 'PatientBirthDate'] }),
        await hr.call('search_dicom_instances', { datastore_id: ds, study_instance_uid: s.study, include_fields: ['PatientName'] }),
        await hr.call('get_dicom_instance_metadata', { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series, sop_instance_uid: s.sops[0] }),
        await hr.call('get_dicom_series_metadata', { datastore_id: ds, study_instance_uid: s.study, series_instance_uid: s.series }),
      ];
      for (const result of results) {
        expect(result.isError, textOf(result)).toBeFalsy();
        const everything = JSON.stringify(result);
        expect(everything).not.toContain('SECRET');
      }
      expect(textOf(results[0]!)).toMatch(/\| \[redacted [0-9a-f]{8}\] \|/);
      expect(textOf(results[3]!)).toMatch(/\(0010,0010\) PatientName PN: \[redacted [0-9a-f]{8}\]/);
      expect(JSON.stringify(results[3]!.content)).toContain('PHI redacted (--redact-phi)');
    } finally {
      await hr.close();
    }
  });

  it('a wrong secret: the endpoint\'s signature error, named, with the next step', async () => {
    const config = loadConfig({ backend: 'aws', region: 'us-east-1', allowWrite: true, confirmMode: 'none', allowDir: dir }, {});
    const sdk = createMedicalImagingClient(config, { endpoint: local.service.endpoint, credentials: { ...local.service.credentials, secretAccessKey: 'wrong-secret' } });
    const handle = createServer(config, { client: sdk, backendDescription: 'test', audit: capturedAudit().audit });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'test', version: '0' });
    await Promise.all([handle.server.connect(b), client.connect(a)]);
    try {
      const s = await writeSeries(dir, 1);
      for (const [name, args] of [
        ['store_dicom', { datastore_id: ds, paths: s.paths }],
        ['search_dicom_studies', { datastore_id: ds }],
      ] as const) {
        const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
        expect(result.isError, name).toBe(true);
        expect(textOf(result)).toMatch(/^InvalidSignatureException: .*\nNext step: The DICOMweb endpoint rejected the request signature/s);
      }
      expect(await studyInstances(s.study)).toBe(0);
    } finally {
      await client.close();
      await handle.close();
      sdk.destroy();
    }
  });

  it('--datastore-ids confines the DICOMweb tools too', async () => {
    const hc = await connectMcp({ datastoreIds: local.service.demoDatastoreId! }, { local });
    try {
      const result = await hc.call('search_dicom_studies', { datastore_id: ds });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^DatastoreNotAllowed: /);
      const demo = await hc.call('search_dicom_studies', {});
      expect(demo.isError, textOf(demo)).toBeFalsy();
      expect(structured<{ count: number }>(demo).count).toBe(3);
    } finally {
      await hc.close();
    }
  });

  it('--read-only hides store_dicom and save_dicom_instance, keeps the reads', async () => {
    const hr = await connectMcp({ readOnly: true }, { local });
    try {
      const names = (await hr.client.listTools()).tools.map((t) => t.name).filter((n) => /dicom_(studies|series|instances)|dicom_.*metadata|store_dicom|save_dicom/.test(n));
      expect(names.sort()).toEqual(['get_dicom_instance_metadata', 'get_dicom_series_metadata', 'search_dicom_instances', 'search_dicom_series', 'search_dicom_studies']);
    } finally {
      await hr.close();
    }
  });
});
