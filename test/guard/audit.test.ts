/** The audit log: one JSON line per write attempt, IDs and outcomes only, on stderr and optionally in a file. */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, auditResult, auditTargets } from '../../src/guard/audit.js';
import { startTestService, tempDir, type TestService } from '../helpers/local.js';
import { demoCt, disposableCopy, startGuardServer } from './harness.js';

const ID = 'a'.repeat(32);
const ARN = `arn:aws:medical-imaging:us-east-1:123456789012:datastore/${ID}/imageset/${'b'.repeat(32)}`;

describe('what an entry may hold', () => {
  it('targets are ID-shaped *_id and *_arn fields only: no DICOM, tag values, names or paths', () => {
    const args = {
      datastore_id: ID,
      image_set_id: 'b'.repeat(32),
      latest_version_id: '3',
      resource_arn: ARN,
      study_id: 'Smith John',
      updates: { Patient: { DICOM: { PatientName: 'DOE^JANE', PatientID: 'P-1' } } },
      tags: { patient_id: '12345' },
      tag_keys: ['owner'],
      datastore_name: 'radiology',
      input_s3_uri: 's3://bucket/DOE_JANE/',
      force: true,
    };
    expect(auditTargets(args)).toEqual({ datastore_id: ID, image_set_id: 'b'.repeat(32), latest_version_id: '3', resource_arn: ARN });
  });

  it('results include the IDs of a copy\'s source and destination', () => {
    expect(auditResult({ source: { image_set_id: ID, latest_version_id: '1', state: 'ACTIVE' }, destination: { image_set_id: 'c'.repeat(32), latest_version_id: '1' }, outcome: 'applied' })).toEqual({
      'source.image_set_id': ID,
      'source.latest_version_id': '1',
      'destination.image_set_id': 'c'.repeat(32),
      'destination.latest_version_id': '1',
    });
    expect(auditResult({ tags: { patient_id: '123' }, outcome: 'applied' })).toBeUndefined();
  });
});

describe('sinks', () => {
  const dir = tempDir('himcp-audit-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each entry as one JSON line to stderr and to the --audit-log file', () => {
    const file = path.join(dir, 'audit.jsonl');
    const stderr: string[] = [];
    const log = AuditLog.fromConfig({ auditLog: file }, (text) => stderr.push(text));
    log.record({ tool: 'delete_image_set', targets: { image_set_id: ID }, outcome: 'declined', confirmation: 'elicitation' });
    log.record({ tool: 'tag_resource', targets: { resource_arn: ARN }, outcome: 'applied', confirmation: 'not_required', aws_request_id: 'r-1' });
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(stderr.join('')).toBe(`${lines[0]}\n${lines[1]}\n`);
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), type: 'audit', tool: 'delete_image_set', targets: { image_set_id: ID }, outcome: 'declined', confirmation: 'elicitation' });
  });

  it('fails at startup, not at the first write, when the file cannot be opened', () => {
    expect(() => AuditLog.fromConfig({ auditLog: path.join(dir, 'missing', 'audit.jsonl') }, () => undefined)).toThrow(/^--audit-log: cannot open .*missing/);
  });
});

describe('through the server', () => {
  let local: TestService;
  beforeAll(async () => {
    local = await startTestService({ seedDemo: true });
  });
  afterAll(async () => local.stop());

  it('records every write attempt with its AWS request ID, and never the values written', async () => {
    const ds = local.service.demoDatastoreId!;
    const id = await disposableCopy(local.client, ds, await demoCt(local.client, ds));
    const server = await startGuardServer('in-memory', local, { allowWrite: true });
    const client = await server.connect();
    const update = { datastore_id: ds, image_set_id: id, latest_version_id: '1', updates: { Patient: { DICOM: { PatientName: 'AUDIT^CANARY' } } } };
    await client.call('update_image_set_metadata', { ...update, dry_run: true });
    await client.call('update_image_set_metadata', update);
    await client.call('update_image_set_metadata', update);
    await client.call('get_image_set', { datastore_id: ds, image_set_id: id });
    expect(server.audit).toEqual([
      expect.objectContaining({ tool: 'update_image_set_metadata', outcome: 'applied', confirmation: 'not_required', aws_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/), result: { image_set_id: id, latest_version_id: '2' } }),
      expect.objectContaining({ tool: 'update_image_set_metadata', outcome: 'failed', error: 'ConflictException', aws_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) }),
    ]);
    expect(server.audit[0]!.targets).toEqual({ datastore_id: ds, image_set_id: id, latest_version_id: '1' });
    expect(JSON.stringify(server.audit)).not.toMatch(/CANARY|DEMO\^CHEST/);
    await client.close();
    await server.close();
  });
});
