/**
 * Interop: the DICOMweb tools against a real Orthanc with its DICOMweb plugin (Debian `orthanc`, `orthanc-dicomweb`),
 * started here on a free loopback port with temporary storage. store_dicom's multipart STOW-RS request is checked
 * through Orthanc's own QIDO-RS and REST API (byte for byte: Orthanc keeps the files as received), and the search,
 * metadata and save tools read back what it stored. This shows the client side follows the DICOMweb standard, not
 * only what the local service accepts. Skipped, saying so, where Orthanc is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { loadConfig } from '../../src/config.js';
import { parseP10 } from '../../src/dicom/p10.js';
import { formatReport, runDoctor } from '../../src/doctor.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { attributesOf, ctSeriesFiles } from '../helpers/dicom-files.js';
import { createActiveDatastore } from '../helpers/import.js';
import { startTestService, tempDir, waitFor, type TestService } from '../helpers/local.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

const ORTHANC = '/usr/sbin/Orthanc';
const PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const haveOrthanc = existsSync(ORTHANC) && existsSync(PLUGIN);
if (!haveOrthanc) console.warn(`[skip] Orthanc with its DICOMweb plugin is not installed (${ORTHANC}, ${PLUGIN}; apt packages orthanc, orthanc-dicomweb): the Orthanc interop tests are skipped`);

/** Any datastore ID: a plain DICOMweb root ignores it (src/aws/dicomweb.ts). */
const DATASTORE = '0123456789abcdef0123456789abcdef';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(!haveOrthanc)('store_dicom and the DICOMweb read tools against Orthanc', () => {
  let dir: string;
  let orthanc: ChildProcess;
  let base: string;
  let log = '';
  let local: TestService;
  let h: McpHarness;

  beforeAll(async () => {
    dir = tempDir('himcp-orthanc-');
    await fs.mkdir(path.join(dir, 'storage'));
    await fs.mkdir(path.join(dir, 'files'));
    const port = await freePort();
    const config = {
      Name: 'healthimaging-mcp-test',
      HttpPort: port,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomServerEnabled: false,
      StorageDirectory: path.join(dir, 'storage'),
      IndexDirectory: path.join(dir, 'storage'),
      Plugins: [PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
    };
    await fs.writeFile(path.join(dir, 'orthanc.json'), JSON.stringify(config));
    orthanc = spawn(ORTHANC, [path.join(dir, 'orthanc.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    orthanc.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    orthanc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    base = `http://127.0.0.1:${port}`;
    await waitFor(
      () => fetch(`${base}/system`).then((r) => r.ok, () => false),
      (up) => up || orthanc.exitCode !== null,
      30_000,
      'Orthanc to start',
    );
    if (orthanc.exitCode !== null) throw new Error(`Orthanc exited with ${orthanc.exitCode}: ${log}`);
    // The HealthImaging client points at the local service (image set look-ups find nothing there); DICOMweb at Orthanc.
    local = await startTestService();
    h = await connectMcp({ allowWrite: true, confirmMode: 'none', allowDir: path.join(dir, 'files'), dicomwebEndpointUrl: `${base}/dicom-web` }, { local });
  });

  afterAll(async () => {
    await h?.close();
    await local?.stop();
    if (orthanc && orthanc.exitCode === null) {
      const exited = new Promise((resolve) => orthanc.once('exit', resolve));
      orthanc.kill('SIGTERM');
      await exited;
    }
    await fs.rm(dir, { recursive: true, force: true });
  });

  const structured = <T>(r: CallToolResult) => r.structuredContent as T;

  it('stores a multipart STOW-RS request that Orthanc accepts byte for byte', async () => {
    const files = ctSeriesFiles({ slices: 3, seed: 901, size: 48, patientId: 'ORTHANC-1', patientName: 'ORTHANC^INTEROP' });
    const paths: string[] = [];
    for (const [name, bytes] of Object.entries(files)) {
      await fs.writeFile(path.join(dir, 'files', name), bytes);
      paths.push(name);
    }
    const study = String(attributesOf(files['0001.dcm']!).StudyInstanceUID);
    const series = String(attributesOf(files['0001.dcm']!).SeriesInstanceUID);

    const result = await h.call('store_dicom', { datastore_id: DATASTORE, paths });
    expect(result.isError, textOf(result)).toBeFalsy();
    const out = structured<{ status: string; stored: Array<{ file: string; sop_instance_uid: string; retrieve_url?: string }>; image_sets: unknown[] }>(result);
    expect(out.status).toBe('stored');
    expect(out.stored).toHaveLength(3);
    expect(out.stored[0]!.retrieve_url).toContain(`${base}/dicom-web/studies/${study}/series/${series}/instances/`);
    expect(out.image_sets).toEqual([]);
    expect(textOf(result)).toContain('a plain DICOMweb server (--dicomweb-endpoint-url), not HealthImaging: it keeps no image sets');

    // Orthanc's own QIDO-RS, through plain fetch.
    const qido = await fetch(`${base}/dicom-web/studies?StudyInstanceUID=${study}&includefield=00201208`, { headers: { accept: 'application/dicom+json' } });
    const studies = (await qido.json()) as Array<Record<string, { Value?: unknown[] }>>;
    expect(studies).toHaveLength(1);
    expect(studies[0]!['00201208']!.Value).toEqual([3]);
    // Orthanc's REST API: the stored files are exactly the ones sent.
    const instances = (await (await fetch(`${base}/instances?expand`)).json()) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>;
    for (const [name, bytes] of Object.entries(files)) {
      const sop = String(attributesOf(bytes).SOPInstanceUID);
      const instance = instances.find((i) => i.MainDicomTags.SOPInstanceUID === sop);
      expect(instance, name).toBeDefined();
      const stored = new Uint8Array(await (await fetch(`${base}/instances/${instance!.ID}/file`)).arrayBuffer());
      expect(Buffer.compare(Buffer.from(stored), Buffer.from(bytes)), name).toBe(0);
    }
  });

  it('stores into a named study (StoreDICOMStudy path) and refuses another study\'s file before sending it', async () => {
    const files = Object.values(ctSeriesFiles({ slices: 1, seed: 902, size: 32 }));
    const other = Object.values(ctSeriesFiles({ slices: 1, seed: 903, size: 32 }));
    await fs.writeFile(path.join(dir, 'files', 'mine.dcm'), files[0]!);
    await fs.writeFile(path.join(dir, 'files', 'other.dcm'), other[0]!);
    const study = String(attributesOf(files[0]!).StudyInstanceUID);
    const result = await h.call('store_dicom', { datastore_id: DATASTORE, study_instance_uid: study, paths: ['mine.dcm', 'other.dcm'] });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(structured<{ stored: unknown[]; failed: Array<{ file: string; sent: boolean }> }>(result)).toMatchObject({ stored: [expect.anything()], failed: [{ file: 'other.dcm', sent: false }] });
    const otherStudy = String(attributesOf(other[0]!).StudyInstanceUID);
    const found = await fetch(`${base}/dicom-web/studies?StudyInstanceUID=${otherStudy}`, { headers: { accept: 'application/dicom+json' } });
    expect(found.status === 204 || ((await found.json()) as unknown[]).length === 0).toBe(true);
  });

  it('searches, reads metadata and saves an instance from Orthanc', async () => {
    const studies = await h.call('search_dicom_studies', { datastore_id: DATASTORE, match: { PatientID: 'ORTHANC-1' } });
    expect(studies.isError, textOf(studies)).toBeFalsy();
    const so = structured<{ columns: string[]; rows: string[][] }>(studies);
    expect(so.rows).toHaveLength(1);
    expect(so.rows[0]![so.columns.indexOf('PatientName')]).toBe('ORTHANC^INTEROP');
    const study = so.rows[0]![so.columns.indexOf('StudyInstanceUID')]!;

    const instances = await h.call('search_dicom_instances', { datastore_id: DATASTORE, study_instance_uid: study });
    const io = structured<{ columns: string[]; rows: string[][] }>(instances);
    expect(io.rows).toHaveLength(3);
    const row = io.rows[0]!;
    const ids = {
      datastore_id: DATASTORE,
      study_instance_uid: study,
      series_instance_uid: row[io.columns.indexOf('SeriesInstanceUID')]!,
      sop_instance_uid: row[io.columns.indexOf('SOPInstanceUID')]!,
    };
    const metadata = await h.call('get_dicom_instance_metadata', { ...ids, attributes: ['PatientID', 'Rows'] });
    expect(textOf(metadata)).toBe('(0010,0020) PatientID LO: ORTHANC-1\n(0028,0010) Rows US: 48');

    const saved = await h.call('save_dicom_instance', { ...ids, path: 'from-orthanc.dcm' });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    const parsed = parseP10(await fs.readFile(path.join(dir, 'files', 'from-orthanc.dcm')));
    expect(parsed.sopInstanceUID).toBe(ids.sop_instance_uid);
    expect(parsed.transferSyntaxUID).toBe('1.2.840.10008.1.2.1');
  });

  it('doctor walks Orthanc\'s DICOMweb root (a plain root, not /datastore/{id}) down to one instance', async () => {
    // Something to walk down to, whichever tests ran before.
    await fs.writeFile(path.join(dir, 'files', 'doctor.dcm'), Object.values(ctSeriesFiles({ slices: 1, seed: 904, size: 32 }))[0]!);
    const stored = await h.call('store_dicom', { datastore_id: DATASTORE, paths: ['doctor.dcm'] });
    expect(stored.isError, textOf(stored)).toBeFalsy();
    // The HealthImaging checks need a datastore that exists: one in the local service, whose ID a plain root ignores.
    const datastoreId = await createActiveDatastore(local.client, 'doctor-orthanc');
    const config = loadConfig({ backend: 'aws', region: 'us-east-1', datastoreIds: datastoreId, dicomwebEndpointUrl: `${base}/dicom-web` }, {});
    const target = { endpoint: local.service.endpoint, credentials: local.service.credentials };
    const client = createMedicalImagingClient(config, target);
    try {
      const results = await runDoctor({ config, client, target, backendDescription: 'the local test service, DICOMweb at Orthanc', exposedTools: ALL_TOOLS.map((t) => t.name) });
      const report = formatReport(results);
      expect(report).toContain(`✓ DICOMweb: ${base}/dicom-web answers; medical-imaging:SearchDICOMStudies on datastore ${datastoreId}: found a study`);
      expect(report).toMatch(new RegExp(`^✓ medical-imaging:GetDICOMInstance on datastore ${datastoreId}: multipart/related`, 'm'));
      expect(report).not.toMatch(/^✗ .*DICOM/m);
    } finally {
      client.destroy();
    }
  });
});

