/**
 * `healthimaging-mcp doctor`, run as users run it (the built CLI), against the real local service: with the right
 * credentials, with credentials the service does not know, with none, with nothing listening, and behind an IAM
 * stand-in that denies some actions the way AWS does.
 */
import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { healthImagingActionsOf } from '../../src/aws/iam.js';
import { loadConfig } from '../../src/config.js';
import { checkNode, exitCodeOf, formatReport, runDoctor } from '../../src/doctor.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { DEFAULT_LOCAL_CREDENTIALS } from '../../src/local/service.js';
import { startTestService, tempDir, type TestService } from '../helpers/local.js';
import { CLI } from '../helpers/spawn.js';

const exec = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with exactly this environment (no AWS settings of the machine leak in), bounded in time. */
async function doctor(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const home = tempDir('himcp-doctor-home-');
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, 'doctor', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: `${home}/none`, AWS_SHARED_CREDENTIALS_FILE: `${home}/none`, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Tools that search DICOMweb studies (the DICOMweb toolset, once it exists): a denied search fails them. */
const STUDY_SEARCHERS = ALL_TOOLS.filter((t) => healthImagingActionsOf(t.name).includes('SearchDICOMStudies')).map((t) => t.name);
const READS = ['ListDatastores', 'GetDatastore', 'SearchImageSets', 'GetImageSet', 'ListImageSetVersions', 'GetImageSetMetadata', 'GetImageFrame', 'ListDICOMImportJobs', 'GetDICOMImportJob', 'ListTagsForResource'];

describe('doctor', () => {
  it('passes with the embedded local service, checking every read permission the tools need', async () => {
    const dataDir = tempDir();
    try {
      const run = await doctor(['--data-dir', dataDir]);
      expect(run.stdout).toContain('All checks passed.');
      expect(run.code).toBe(0);
      for (const action of READS) expect(run.stdout).toMatch(new RegExp(`^✓ medical-imaging:${action}\\b`, 'm'));
      expect(run.stdout).toMatch(/^✓ DICOMweb: http:\/\/127\.0\.0\.1:\d+ answers/m);
      expect(run.stdout).toMatch(/^- Write permissions not checked .*medical-imaging:UpdateImageSetMetadata/m);
      expect(run.stdout).toMatch(/^✓ Node\.js /m);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects an invalid configuration with exit code 2, naming the option', async () => {
    const run = await doctor(['--backend', 'azure']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--backend (HEALTHIMAGING_MCP_BACKEND)');
  });

  it('walks DICOMweb from a study down to one instance for the DICOMweb tools', async () => {
    const local = await startTestService({ seedDemo: true });
    const target = { endpoint: local.service.endpoint, credentials: local.service.credentials };
    const config = loadConfig({ backend: 'aws', region: 'us-east-1', allowWrite: true }, {});
    const client = createMedicalImagingClient(config, target);
    try {
      // Every tool of the IAM map, the DICOMweb ones included whether or not they are merged yet.
      const exposedTools = ALL_TOOLS.map((t) => t.name);
      const results = await runDoctor({ config, client, target, backendDescription: 'the local test service', exposedTools });
      const report = formatReport(results);
      for (const action of ['SearchDICOMSeries', 'GetDICOMSeriesMetadata', 'SearchDICOMInstances', 'GetDICOMInstanceMetadata', 'GetDICOMInstance']) {
        expect(report).toMatch(new RegExp(`^✓ medical-imaging:${action} on datastore \\w{32}: `, 'm'));
      }
      expect(report).toMatch(/^✓ medical-imaging:GetDICOMInstance on datastore \w{32}: application\/dicom/m);
      expect(report).toMatch(/^- Write permissions not checked .*medical-imaging:StoreDICOM\b/m);
      expect(exitCodeOf(results)).toBe(0);
    } finally {
      client.destroy();
      await local.stop();
    }
  });

  it('says a DICOMweb endpoint that never answers timed out', async () => {
    const local = await startTestService({ seedDemo: true });
    // Accepts connections and requests, and never answers them.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const target = { endpoint: local.service.endpoint, credentials: local.service.credentials };
    const config = loadConfig({ backend: 'aws', region: 'us-east-1', dicomwebEndpointUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }, {});
    const client = createMedicalImagingClient(config, target);
    try {
      const results = await runDoctor({ config, client, target, backendDescription: 'the local test service', exposedTools: ['search_dicom_studies'], timeoutMs: 1000 });
      expect(formatReport(results)).toMatch(/^✗ DICOMweb: nothing answers at http:\/\/127\.0\.0\.1:\d+\n\s+TimeoutError: /m);
      expect(exitCodeOf(results)).toBe(1);
    } finally {
      client.destroy();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
      await local.stop();
    }
  });

  it('refuses an old Node.js', () => {
    expect(checkNode('18.20.4').status).toBe('fail');
    expect(checkNode('20.18.9').status).toBe('fail');
    expect(checkNode('20.19.0').status).toBe('ok');
    expect(checkNode('22.1.0').details).toBeUndefined();
  });

  describe('against a local service started with other credentials', () => {
    let local: TestService;
    const other = { accessKeyId: 'AKIAOTHERDOCTOR00001', secretAccessKey: 'another-secret-for-the-doctor-test' };
    const aws = () => ['--backend', 'aws', '--endpoint-url', local.service.endpoint, '--region', 'us-east-1'];
    beforeAll(async () => {
      local = await startTestService({ seedDemo: true, credentials: other });
    });
    afterAll(async () => local.stop());

    it('says the endpoint does not know the access key, and which credentials to use', async () => {
      const run = await doctor(aws(), { AWS_ACCESS_KEY_ID: DEFAULT_LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DEFAULT_LOCAL_CREDENTIALS.secretAccessKey });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`✗ Backend: ${local.service.endpoint} refuses the credentials`);
      expect(run.stdout).toMatch(/UnrecognizedClientException: .*unknown access key ID.*\(request ID [0-9a-f-]{36}\)/);
      expect(run.stdout).toContain('HEALTHIMAGING_LOCAL_ACCESS_KEY_ID');
      expect(run.stdout).toContain('1 problem(s) found.');
    });

    it('says the signature does not match when the secret is wrong', async () => {
      const run = await doctor(aws(), { AWS_ACCESS_KEY_ID: other.accessKeyId, AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/✗ Backend: .* refuses the credentials\n {4}InvalidSignatureException: /);
    });

    it('says there are no credentials, and where they can come from', async () => {
      const run = await doctor(aws());
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('✗ Credentials: none found');
      expect(run.stdout).toContain('--profile <name>');
      expect(run.stdout).not.toContain('Backend:');
    });

    it('passes with the credentials the service was started with', async () => {
      const run = await doctor([...aws(), '--read-only'], { AWS_ACCESS_KEY_ID: other.accessKeyId, AWS_SECRET_ACCESS_KEY: other.secretAccessKey });
      expect(run.stdout).toContain('All checks passed.');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Credentials: access key AKIA…0001 from the AWS credential chain`);
      expect(run.stdout).not.toContain('Write permissions');
    });

    it('says when nothing answers at the endpoint', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const run = await doctor(['--backend', 'aws', '--endpoint-url', `http://127.0.0.1:${port}`, '--region', 'us-east-1'], { AWS_ACCESS_KEY_ID: other.accessKeyId, AWS_SECRET_ACCESS_KEY: other.secretAccessKey });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`✗ Backend: nothing answers at http://127.0.0.1:${port}`);
      expect(run.stdout).toContain('ECONNREFUSED');
    });

    describe('behind an IAM stand-in that denies GetImageFrame and SearchDICOMStudies', () => {
      // The local service has no IAM. This proxy forwards every request to it unchanged (the signature still
      // verifies) except those the "policy" denies, which get AWS's AccessDeniedException response.
      let proxy: Server;
      let endpoint: string;
      const denied: Array<[RegExp, string, string]> = [
        [/^POST \/datastore\/\w+\/imageSet\/\w+\/getImageFrame$/, 'GetImageFrame', 'imageset'],
        [/^GET \/datastore\/\w+\/studies$/, 'SearchDICOMStudies', 'datastore'],
      ];
      beforeAll(async () => {
        const target = new URL(local.service.endpoint);
        proxy = createServer((req, res) => {
          const line = `${req.method} ${(req.url ?? '').split('?')[0]}`;
          const rule = denied.find(([pattern]) => pattern.test(line));
          if (rule) {
            const body = JSON.stringify({
              message: `User: arn:aws:iam::123456789012:user/doctor is not authorized to perform: medical-imaging:${rule[1]} on resource: arn:aws:medical-imaging:us-east-1:123456789012:datastore/x because no identity-based policy allows the medical-imaging:${rule[1]} action`,
            });
            req.resume();
            res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException', 'x-amzn-requestid': '11111111-2222-3333-4444-555555555555' });
            res.end(body);
            return;
          }
          const forward = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          });
          forward.on('error', () => res.destroy());
          req.pipe(forward);
        });
        await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      });
      afterAll(async () => {
        proxy.closeAllConnections();
        await new Promise((resolve) => proxy.close(resolve));
      });
      const env = () => ({ AWS_ACCESS_KEY_ID: other.accessKeyId, AWS_SECRET_ACCESS_KEY: other.secretAccessKey });

      it('names the missing IAM action, the tools that need it, and both fixes', async () => {
        const run = await doctor(['--backend', 'aws', '--endpoint-url', endpoint, '--region', 'us-east-1'], env());
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(/^✗ medical-imaging:GetImageFrame on datastore \w{32}: access denied$/m);
        expect(run.stdout).toContain('AccessDeniedException: User: arn:aws:iam::123456789012:user/doctor is not authorized to perform: medical-imaging:GetImageFrame');
        expect(run.stdout).toContain('The identity lacks the IAM permission medical-imaging:GetImageFrame on arn:aws:medical-imaging:us-east-1:<account>:datastore/');
        expect(run.stdout).toContain('Needed by: get_image_frame, get_contact_sheet. Grant it (docs/iam.md has least-privilege policies), or hide those tools with --exclude-tools get_image_frame,get_contact_sheet.');
        // A denied DICOMweb search fails only when an exposed tool searches DICOMweb; otherwise it is a warning.
        const mark = STUDY_SEARCHERS.length ? '✗' : '!';
        expect(run.stdout).toMatch(new RegExp(`^${mark} DICOMweb: medical-imaging:SearchDICOMStudies on datastore \\w{32}: access denied$`, 'm'));
        expect(run.stdout).toContain(STUDY_SEARCHERS.length ? '2 problem(s) found.' : '1 problem(s) found, 1 warning(s).');
      });

      it('passes once the tools that need the missing action are hidden', async () => {
        const run = await doctor(['--backend', 'aws', '--endpoint-url', endpoint, '--region', 'us-east-1', '--exclude-tools', ['get_image_frame', 'get_contact_sheet', ...STUDY_SEARCHERS].join(',')], env());
        expect(run.stdout).not.toContain('medical-imaging:GetImageFrame');
        expect(run.stdout).toMatch(/All checks passed \(1 warning\(s\)\)\./);
        expect(run.code).toBe(0);
      });
    });
  });
});
