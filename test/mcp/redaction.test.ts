/**
 * --redact-phi end to end: an image set whose PHI values are known, every tool called and every resource read through
 * a real MCP client, and not one of those values in any result; without the flag the same calls show them all.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { withAttributes } from '../helpers/dicom-files.js';
import { createActiveDatastore, importFiles } from '../helpers/import.js';
import { startTestService, tempDir, type TestService, waitFor } from '../helpers/local.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

/** Attribute → a value that occurs nowhere else. */
const PHI = {
  PatientName: 'PHIDOE^JANE^Q',
  PatientID: 'MRN-PHI-31337',
  PatientBirthDate: '19450317',
  AccessionNumber: 'ACC-PHI-4242',
  StudyID: 'SID-PHI-77',
  PatientAddress: '12 Hidden Lane, Secretville',
  PatientTelephoneNumbers: '+1-555-0199',
  OtherPatientIDs: 'OTHER-PHI-555',
  OtherPatientNames: 'ALIAS^PHI^NAME',
  PatientMotherBirthName: 'MOTHER^PHI^MAIDEN',
  EthnicGroup: 'PHI-ETHNIC-X',
} as const;
/** Inside sequences: a PHI sequence, and PHI attributes in a sequence that is not PHI itself. */
const NESTED = { otherId: 'SEQ-PHI-ID-9', issuer: 'SEQ-PHI-ISSUER', requestAccession: 'REQ-ACC-PHI', requestedProcedure: 'RPID-PHI-1' };
/** A private element's value. */
const PRIVATE_VALUE = 'PRIVATE-PHI-VALUE';
const SECRETS = [...Object.values(PHI), ...Object.values(NESTED), PRIVATE_VALUE];

let local: TestService;
let ds: string;
/** store_dicom stores here, so that the image sets the other calls find stay the imported ones. */
let storeDs: string;
/** Where save_dicom_instance may write (--allow-dir). */
let dir: string;
let saves = 0;

beforeAll(async () => {
  dir = tempDir('himcp-phi-');
  local = await startTestService();
  ds = await createActiveDatastore(local.client, 'phi');
  storeDs = await createActiveDatastore(local.client, 'phi-store');
  const slices = syntheticCtSeries({ patientName: 'X', patientId: 'X', slices: 3, rows: 32, columns: 32, seed: 11 });
  const files = Object.fromEntries(
    slices.map((bytes, i) => [
      `${i + 1}.dcm`,
      withAttributes(
        bytes,
        {
          ...PHI,
          PatientSex: 'F',
          OtherPatientIDsSequence: [{ PatientID: NESTED.otherId, IssuerOfPatientID: NESTED.issuer }],
          RequestAttributesSequence: [{ AccessionNumber: NESTED.requestAccession, RequestedProcedureID: NESTED.requestedProcedure, ScheduledProcedureStepID: 'SPS-1' }],
        },
        { '00090010': { vr: 'LO', Value: ['ACME PRIVATE'] }, '00091001': { vr: 'LO', Value: [PRIVATE_VALUE] } },
      ),
    ]),
  );
  const job = await importFiles(local.client, local.dataDir, ds, files);
  expect(job.jobStatus).toBe('COMPLETED');
});
afterAll(async () => {
  await local.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Output {
  what: string;
  json: string;
}

/** Calls every tool the server lists (failing on one this test does not know) and reads every resource. */
async function exerciseEverything(h: McpHarness, redacted: boolean): Promise<Output[]> {
  const outputs: Output[] = [];
  const called = new Set<string>();
  const call = async (name: string, args: Record<string, unknown>) => {
    const result = await h.call(name, args);
    expect(result.isError, `${name}: ${textOf(result)}`).toBeFalsy();
    called.add(name);
    outputs.push({ what: `tool ${name}`, json: JSON.stringify(result) });
    return result;
  };
  const structured = <T>(r: { structuredContent?: unknown }) => r.structuredContent as T;

  await call('list_datastores', {});
  await call('get_datastore', { datastore_id: ds });
  const found = structured<{ image_sets: Array<{ image_set_id: string }> }>(await call('search_image_sets', { datastore_id: ds }));
  await call('search_image_sets', { datastore_id: ds, patient_id: PHI.PatientID });
  const imageSetId = found.image_sets[0]!.image_set_id;
  const set = { datastore_id: ds, image_set_id: imageSetId };
  await call('get_image_set', set);
  const summary = structured<{ instances: Array<{ frame_ids: string[] }>; series: Array<{ series_instance_uid: string }> }>(await call('get_image_set_metadata', set));
  const frame = summary.instances[0]!.frame_ids[0]!;
  await call('get_image_set_metadata', { ...set, level: 'instance', max_instances: 3 });
  await call('get_image_set_metadata', { ...set, attributes: ['PatientName', '00100020', 'OtherPatientIDsSequence', 'RequestAttributesSequence', '00091001', 'PatientAddress'], format: 'json' });
  await call('get_image_set_metadata', { ...set, level: 'patient' });
  await call('get_image_frame', { ...set, image_frame_id: frame });
  await call('get_image_frame', { ...set, image_frame_id: frame, format: 'raw' });
  await call('get_contact_sheet', { ...set, max_frames: 3, tile_size: 32 });
  await call('list_image_set_versions', set);
  const latest = structured<{ version_id: string }>(await call('get_image_set', set)).version_id;
  const update = { ...set, latest_version_id: latest, updates: { Study: { DICOM: { StudyDescription: 'CURATED' } } } };
  await call('update_image_set_metadata', { ...update, dry_run: true });
  await call('update_image_set_metadata', update);
  await call('compare_image_set_versions', { ...set, from_version_id: '1' });
  const now = structured<{ version_id: string }>(await call('get_image_set', set)).version_id;
  const copy = structured<{ destination: { image_set_id: string } }>(await call('copy_image_set', { datastore_id: ds, source_image_set_id: imageSetId, source_latest_version_id: now }));
  await call('delete_image_set', { datastore_id: ds, image_set_id: copy.destination.image_set_id });
  const job = structured<{ job_id: string }>(
    await call('start_dicom_import_job', { datastore_id: ds, input_s3_uri: 's3://nothing-here/in/', output_s3_uri: 's3://nothing-here/out/', data_access_role_arn: 'arn:aws:iam::123456789012:role/ImportRole' }),
  );
  await call('get_dicom_import_job', { datastore_id: ds, job_id: job.job_id });
  await call('list_dicom_import_jobs', { datastore_id: ds });
  const arn = structured<{ arn: string }>(await call('get_datastore', { datastore_id: ds })).arn;
  await call('tag_resource', { resource_arn: arn, tags: { project: 'phi' } });
  await call('list_tags_for_resource', { resource_arn: arn });
  await call('untag_resource', { resource_arn: arn, tag_keys: ['project'] });
  // DICOMweb: the same study through QIDO-RS (asking for PHI columns too) and WADO-RS, saved to a file, and a store.
  const table = (r: { structuredContent?: unknown }, column: string) => {
    const { columns, rows } = structured<{ columns: string[]; rows: string[][] }>(r);
    return rows.map((row) => row[columns.indexOf(column)]!);
  };
  const study = table(await call('search_dicom_studies', { datastore_id: ds, include_fields: ['PatientAddress', 'OtherPatientNames', 'EthnicGroup'] }), 'StudyInstanceUID')[0]!;
  const series = table(await call('search_dicom_series', { datastore_id: ds, study_instance_uid: study, include_fields: ['PatientName', 'AccessionNumber'] }), 'SeriesInstanceUID')[0]!;
  const sop = table(await call('search_dicom_instances', { datastore_id: ds, study_instance_uid: study, series_instance_uid: series, include_fields: ['PatientID', '00101040'] }), 'SOPInstanceUID')[0]!;
  const instance = { datastore_id: ds, study_instance_uid: study, series_instance_uid: series, sop_instance_uid: sop };
  await call('get_dicom_instance_metadata', instance);
  await call('get_dicom_series_metadata', { datastore_id: ds, study_instance_uid: study, series_instance_uid: series, max_chars: 200_000 });
  // A saved Part 10 file would carry every identifying attribute: refused under --redact-phi.
  const saved = await h.call('save_dicom_instance', { ...instance, path: `saved-${++saves}.dcm` });
  called.add('save_dicom_instance');
  if (redacted) {
    expect(textOf(saved)).toMatch(/^PhiRedactionActive: /);
    for (const secret of SECRETS) expect(JSON.stringify(saved)).not.toContain(secret);
  } else {
    expect(saved.isError, textOf(saved)).toBeFalsy();
    outputs.push({ what: 'tool save_dicom_instance', json: JSON.stringify(saved) });
  }
  const fresh = syntheticCtSeries({ patientName: 'X', patientId: `STORED-${saves}`, slices: 1, rows: 16, columns: 16, seed: 100 + saves });
  await call('store_dicom', { datastore_id: storeDs, files_base64: [Buffer.from(withAttributes(fresh[0]!, PHI)).toString('base64')] });
  const created = structured<{ datastore_id: string }>(await call('create_datastore', { datastore_name: 'scratch' }));
  await waitFor(
    async () => (await h.call('get_datastore', { datastore_id: created.datastore_id })).structuredContent as { status?: string } | undefined,
    (d) => d?.status === 'ACTIVE',
    30_000,
    'the scratch datastore to be ACTIVE',
  );
  await call('delete_datastore', { datastore_id: created.datastore_id });

  const listed = await h.client.listTools();
  expect(listed.tools.map((t) => t.name).filter((name) => !called.has(name)), 'tools this test does not call yet').toEqual([]);

  const read = async (uri: string) => outputs.push({ what: `resource ${uri}`, json: JSON.stringify(await h.client.readResource({ uri })) });
  const templates = (await h.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
  const uris = [
    'healthimaging://datastores',
    `healthimaging://datastores/${ds}`,
    `healthimaging://datastores/${ds}/image-sets/${imageSetId}/metadata`,
    `healthimaging://datastores/${ds}/image-sets/${imageSetId}/versions/1/metadata`,
  ];
  for (const uri of uris) await read(uri);
  // Every resource the server lists, and every template, has an instance among those read.
  const pattern = (template: string) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
  const read_ = (template: string) => uris.some((u) => pattern(template).test(u));
  for (const template of templates) expect(read_(template), template).toBe(true);
  for (const { uri } of (await h.client.listResources()).resources) expect(uris.includes(uri) || templates.some((t) => pattern(t).test(uri) && read_(t)), uri).toBe(true);
  return outputs;
}

describe('--redact-phi', () => {
  it('without it, the PHI values are shown', async () => {
    const h = await connectMcp({ allowWrite: true, confirmMode: 'none', allowDir: dir }, { local });
    try {
      const all = (await exerciseEverything(h, false)).map((o) => o.json).join('\n');
      for (const secret of SECRETS) expect(all, secret).toContain(JSON.stringify(secret).slice(1, -1));
      expect(all).not.toContain('[redacted');
    } finally {
      await h.close();
    }
  });

  it('with it, no tool result or resource carries any of them, and each says that it redacted', async () => {
    const h = await connectMcp({ allowWrite: true, confirmMode: 'none', redactPhi: true, allowDir: dir }, { local });
    try {
      const outputs = await exerciseEverything(h, true);
      for (const { what, json } of outputs) {
        for (const secret of SECRETS) expect(json.includes(JSON.stringify(secret).slice(1, -1)), `${what} shows ${secret}`).toBe(false);
        if (what.startsWith('tool ')) {
          expect(json, what).toContain('PHI redacted (--redact-phi)');
          expect(json, what).toContain('"phi_redacted":true');
        } else {
          expect(json, what).toContain('"healthimaging/phi_redacted":true');
        }
      }
      const metadata = outputs.find((o) => o.what.endsWith('/metadata'))!.json;
      expect(metadata).toContain('PHIRedacted');
      // Kept: the patient's sex, UIDs, descriptions; masked values keep their place as pseudonyms.
      expect(metadata).toMatch(/\\"PatientSex\\":\\"F ?\\"/);
      expect(metadata).toMatch(/\\"PatientName\\":\\"\[redacted [0-9a-f]{8}\]\\"/);
      expect(metadata).toMatch(/\\"00090010\\":\\"ACME PRIVATE\\"/);
      const frame = outputs.find((o) => o.what === 'tool get_image_frame')!.json;
      expect(frame).toContain('Pixel data is not redacted');
    } finally {
      await h.close();
    }
  });

  it('pseudonyms are stable: search results and metadata agree, and a removed birth date shows as a change', async () => {
    const h = await connectMcp({ allowWrite: true, confirmMode: 'none', redactPhi: true, allowDir: dir }, { local });
    try {
      const search = await h.call('search_image_sets', { datastore_id: ds });
      const first = (search.structuredContent as { image_sets: Array<{ image_set_id: string; patient_id: string; patient_name: string }> }).image_sets[0]!;
      expect(first.patient_id).toMatch(/^\[redacted [0-9a-f]{8}\]$/);
      const set = { datastore_id: ds, image_set_id: first.image_set_id };
      const summary = await h.call('get_image_set_metadata', set);
      expect((summary.structuredContent as { patient: { id: string; name: string } }).patient).toMatchObject({ id: first.patient_id, name: first.patient_name });

      const latest = (await h.call('get_image_set', set)).structuredContent as { version_id: string };
      const removal = { ...set, latest_version_id: latest.version_id, removals: { Patient: { DICOM: { PatientBirthDate: '' } } } };
      const dryRun = await h.call('update_image_set_metadata', { ...removal, dry_run: true });
      expect(textOf(dryRun)).toMatch(/Patient PatientBirthDate: "\[redacted [0-9a-f]{8}\]" → \(absent\)/);
      expect(JSON.stringify(dryRun)).not.toContain(PHI.PatientBirthDate);
      expect((await h.call('update_image_set_metadata', removal)).isError).toBeFalsy();
      const compared = await h.call('compare_image_set_versions', { ...set, from_version_id: latest.version_id });
      expect(textOf(compared)).toMatch(/PatientBirthDate: "\[redacted [0-9a-f]{8}\]" → \(absent\)/);
      expect(JSON.stringify(compared)).not.toContain(PHI.PatientBirthDate);
    } finally {
      await h.close();
    }
  });
});
