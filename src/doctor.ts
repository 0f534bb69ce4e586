/**
 * `healthimaging-mcp doctor`: checks, with the configuration the server would run with, everything that stands between
 * an agent and its data: the Node.js version, the region and credentials, whether the HealthImaging endpoint answers
 * and accepts the credentials, the datastores, the DICOMweb endpoint, and, by calling the read operations the enabled
 * tools use, whether IAM grants them. Each problem comes with what to do about it.
 *
 * Write permissions cannot be proven without writing, so they are listed, not checked.
 */
import {
  GetDatastoreCommand,
  GetDICOMImportJobCommand,
  GetImageFrameCommand,
  GetImageSetCommand,
  ListDatastoresCommand,
  ListDICOMImportJobsCommand,
  ListImageSetVersionsCommand,
  ListTagsForResourceCommand,
  SearchImageSetsCommand,
  type MedicalImagingClient,
} from '@aws-sdk/client-medical-imaging';
import { type ClientTarget } from './aws/client.js';
import { DicomwebClient, dicomwebEndpoint, ok } from './aws/dicomweb.js';
import { type HealthImagingAction, healthImagingActionsOf, READ_ACTIONS } from './aws/iam.js';
import { fetchMetadata } from './aws/metadata.js';
import type { Config } from './config.js';
import { selectTools } from './guard/policy.js';
import { ALL_TOOLS } from './tools/index.js';

export const MIN_NODE_VERSION = '20.19.0';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** One line: what was checked and what was found. */
  title: string;
  /** Further lines: the error, who is affected, what to do. */
  details?: string[];
}

export interface DoctorOptions {
  config: Config;
  client: MedicalImagingClient;
  /** Where the server would send requests (the embedded local service's endpoint and credentials, or nothing = AWS). */
  target: ClientTarget;
  /** How the backend is described to people (e.g. "the embedded local HealthImaging service (data in …)"). */
  backendDescription: string;
  /** Names of the exposed tools whose permissions to check (default: those the configuration exposes). */
  exposedTools?: readonly string[];
  /** Per request; doctor should never hang on an unreachable endpoint. */
  timeoutMs?: number;
  nodeVersion?: string;
}

/** Most datastores whose permissions are checked one by one (`--datastore-ids` may name more). */
const MAX_DATASTORES = 5;

const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'ExpiredToken',
  'CredentialsProviderError',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

type Failure = 'network' | 'credentials' | 'denied' | 'not-found' | 'other';

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function classify(err: unknown): Failure {
  const e = err as ErrorLike;
  const code = e?.code ?? (e?.cause as ErrorLike | undefined)?.code;
  if ((code && NETWORK_CODES.has(code)) || e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'network';
  if (e?.name === 'AccessDeniedException' || e?.name === 'AccessDenied') return 'denied';
  if (e?.name && CREDENTIAL_ERRORS.has(e.name)) return 'credentials';
  if (e?.name === 'ResourceNotFoundException') return 'not-found';
  return 'other';
}

const errorLine = (err: unknown) => {
  const e = err as ErrorLike;
  // A request given AbortSignal.timeout() fails as an AbortError whose cause says it timed out.
  const cause = e?.cause as ErrorLike | undefined;
  if (e?.name === 'AbortError' && cause?.name === 'TimeoutError') return `TimeoutError: ${cause.message || 'no answer in time'}`;
  const name = e?.name && e.name !== 'Error' ? e.name : (e?.code ?? (e?.cause as ErrorLike | undefined)?.code ?? 'Error');
  const requestId = e?.$metadata?.requestId ? ` (request ID ${e.$metadata.requestId})` : '';
  return `${name}: ${e?.message || String(err)}${requestId}`;
};

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export function checkNode(version: string): CheckResult {
  if (compareVersions(version, MIN_NODE_VERSION) >= 0) return { status: 'ok', title: `Node.js ${version} (${MIN_NODE_VERSION} or newer needed)` };
  return {
    status: 'fail',
    title: `Node.js ${version} is too old: ${MIN_NODE_VERSION} or newer is needed`,
    details: ['Install a current Node.js LTS (https://nodejs.org, or nvm install --lts) and run the server with it.'],
  };
}

/** Runs every check, in order; never throws. */
export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { config, client } = options;
  const results: CheckResult[] = [];
  const add = (result: CheckResult) => results.push(result);
  const timeout = () => AbortSignal.timeout(options.timeoutMs ?? 15_000);

  add(checkNode(options.nodeVersion ?? process.versions.node));

  const tools = options.exposedTools ?? selectTools(ALL_TOOLS, config).map((t) => t.name);
  // A tool writes when it needs a write action (test/docs/iam.test.ts keeps this in step with readOnlyHint).
  const writes = tools.filter((name) => healthImagingActionsOf(name).some((a) => !READ_ACTIONS.has(a)));
  add({
    status: tools.length ? 'ok' : 'fail',
    title: `Configuration: backend ${config.backend}, ${tools.length} tools exposed (${writes.length} that write)${config.datastoreIds ? `, confined to ${config.datastoreIds.length} datastore(s)` : ''}`,
    ...(!tools.length && { details: ['No tool is exposed: check --toolsets, --tools and --exclude-tools.'] }),
  });

  // Region and credentials, as the SDK resolves them (flags, profile, environment, SSO, instance roles).
  let region: string | undefined;
  try {
    region = await client.config.region();
    add({ status: 'ok', title: `Region: ${region}` });
  } catch (err) {
    add({ status: 'fail', title: 'Region: none configured', details: [errorLine(err), 'Pass --region (e.g. --region us-east-1), set AWS_REGION, or set region in the profile (aws configure).'] });
    return results;
  }
  try {
    const identity = await client.config.credentials();
    const key = identity.accessKeyId;
    const shown = key.length > 8 ? `${key.slice(0, 4)}…${key.slice(-4)}` : key;
    const source = options.target.credentials ? 'the embedded local service' : config.profile ? `profile ${config.profile}` : process.env.AWS_PROFILE ? `profile ${process.env.AWS_PROFILE}` : 'the AWS credential chain';
    add({ status: 'ok', title: `Credentials: access key ${shown} from ${source}${identity.expiration ? `, expiring ${identity.expiration.toISOString()}` : ''}` });
  } catch (err) {
    add({
      status: 'fail',
      title: 'Credentials: none found',
      details: [
        errorLine(err),
        `Give the server AWS credentials: --profile <name> (after aws configure or aws sso login${config.profile ? ` --profile ${config.profile}` : ''}), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance/task role.`,
      ],
    });
    return results;
  }

  // Reachability: the first call also proves that the endpoint accepts the credentials.
  const endpointShown = options.target.endpoint ?? config.endpointUrl ?? `https://medical-imaging.${region}.amazonaws.com`;
  const needed = new Set<HealthImagingAction>(tools.flatMap(healthImagingActionsOf));
  const toolsFor = (action: HealthImagingAction) => tools.filter((name) => healthImagingActionsOf(name).includes(action));
  const deniedFix = (action: HealthImagingAction, resource: string) => {
    const affected = toolsFor(action);
    return [
      `The identity lacks the IAM permission medical-imaging:${action} on ${resource}.`,
      affected.length
        ? `Needed by: ${affected.join(', ')}. Grant it (docs/iam.md has least-privilege policies), or hide those tools with --exclude-tools ${affected.join(',')}.`
        : 'No exposed tool needs it.',
    ];
  };

  let datastores: Array<{ datastoreId?: string; datastoreName?: string; datastoreStatus?: string; datastoreArn?: string }> = [];
  try {
    const listed = await client.send(new ListDatastoresCommand({}), { abortSignal: timeout() });
    datastores = listed.datastoreSummaries ?? [];
    add({ status: 'ok', title: `Backend: ${options.backendDescription} answers at ${endpointShown} and accepts the credentials` });
    add({ status: 'ok', title: `medical-imaging:ListDatastores: ${datastores.length} datastore(s) visible` });
  } catch (err) {
    const kind = classify(err);
    if (kind === 'network') {
      add({
        status: 'fail',
        title: `Backend: nothing answers at ${endpointShown}`,
        details: [errorLine(err), options.target.endpoint || config.endpointUrl ? 'Check --endpoint-url and that the service there is running.' : `Check --region (HealthImaging is not offered in every region), the network, and any proxy (HTTPS_PROXY).`],
      });
      return results;
    }
    if (kind === 'credentials') {
      add({
        status: 'fail',
        title: `Backend: ${endpointShown} refuses the credentials`,
        details: [
          errorLine(err),
          options.target.credentials || config.endpointUrl
            ? 'The endpoint does not know this access key or the signature does not match: use the credentials the service was started with (HEALTHIMAGING_LOCAL_ACCESS_KEY_ID / HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY for the local service).'
            : 'The access key is unknown, disabled or expired, or the clock is off by more than 5 minutes: refresh the credentials (aws sso login, or new keys) and check the system time.',
        ],
      });
      return results;
    }
    add({ status: 'ok', title: `Backend: ${options.backendDescription} answers at ${endpointShown} and accepts the credentials` });
    if (kind === 'denied') add({ status: needed.has('ListDatastores') ? 'fail' : 'warn', title: 'medical-imaging:ListDatastores: access denied', details: [errorLine(err), ...deniedFix('ListDatastores', '*')] });
    else add({ status: 'fail', title: 'medical-imaging:ListDatastores failed', details: [errorLine(err)] });
  }

  // Which datastores to check: the allow-list, or the first ACTIVE one the account shows.
  let targets: string[];
  if (config.datastoreIds) {
    targets = config.datastoreIds.slice(0, MAX_DATASTORES);
    if (config.datastoreIds.length > MAX_DATASTORES) add({ status: 'skip', title: `Only the first ${MAX_DATASTORES} of ${config.datastoreIds.length} allowed datastores are checked` });
  } else {
    const active = datastores.find((d) => d.datastoreStatus === 'ACTIVE');
    targets = active?.datastoreId ? [active.datastoreId] : [];
    if (!active) {
      add({
        status: 'warn',
        title: 'No ACTIVE datastore to check the datastore permissions against',
        details: [writes.includes('create_datastore') ? 'Create one (create_datastore), then run doctor again.' : 'Create one (aws medical-imaging create-datastore), or pass --datastore-ids.'],
      });
    }
  }

  for (const datastoreId of targets) await checkDatastore(datastoreId);
  if (writes.length) {
    const writeActions = [...new Set(writes.flatMap(healthImagingActionsOf).filter((a) => !READ_ACTIONS.has(a)))];
    add({
      status: 'skip',
      title: `Write permissions not checked (only writing could prove them): ${writeActions.map((a) => `medical-imaging:${a}`).join(', ')}`,
      details: ['docs/iam.md lists the policy for these tools (curation or admin).'],
    });
  }
  return results;

  async function checkDatastore(datastoreId: string): Promise<void> {
    const dsArn = (resource = '') => `arn:aws:medical-imaging:${region}:<account>:datastore/${datastoreId}${resource}`;
    const label = `datastore ${datastoreId}`;
    let arn: string | undefined;

    /** Calls one read operation and records whether IAM allows it; undefined when it failed. */
    async function probe<T>(action: HealthImagingAction, resource: string, call: () => Promise<T>, found: (value: T) => string): Promise<T | undefined> {
      const required = needed.has(action);
      try {
        const value = await call();
        add({ status: 'ok', title: `medical-imaging:${action} on ${label}: ${found(value)}` });
        return value;
      } catch (err) {
        const kind = classify(err);
        if (kind === 'denied') {
          add({ status: required ? 'fail' : 'warn', title: `medical-imaging:${action} on ${label}: access denied`, details: [errorLine(err), ...deniedFix(action, resource)] });
        } else if (kind === 'not-found' && action === 'GetDatastore') {
          add({ status: 'fail', title: `${label} does not exist`, details: [errorLine(err), 'Check --datastore-ids and --region: list_datastores shows the datastores the identity can see.'] });
        } else {
          add({ status: required ? 'fail' : 'warn', title: `medical-imaging:${action} on ${label} failed`, details: [errorLine(err)] });
        }
        return undefined;
      }
    }

    const described = await probe('GetDatastore', dsArn(), () => client.send(new GetDatastoreCommand({ datastoreId }), { abortSignal: timeout() }), (r) => {
      const p = r.datastoreProperties!;
      return `"${p.datastoreName ?? ''}", ${p.datastoreStatus}`;
    });
    const props = described?.datastoreProperties;
    if (props) {
      arn = props.datastoreArn;
      if (props.datastoreStatus !== 'ACTIVE') {
        add({ status: 'fail', title: `${label} is ${props.datastoreStatus}, not ACTIVE`, details: ['Only ACTIVE datastores can be searched and read: wait for CREATING to finish, or choose another datastore.'] });
        return;
      }
    }
    const want = (action: HealthImagingAction) => needed.has(action);

    let imageSetId: string | undefined;
    if (want('SearchImageSets')) {
      const found = await probe('SearchImageSets', dsArn(), () => client.send(new SearchImageSetsCommand({ datastoreId, maxResults: 1 }), { abortSignal: timeout() }), (r) =>
        r.imageSetsMetadataSummaries?.length ? `found image set ${r.imageSetsMetadataSummaries[0]!.imageSetId}` : 'the datastore holds no image sets',
      );
      imageSetId = found?.imageSetsMetadataSummaries?.[0]?.imageSetId;
    }
    const imageSetActions = (['GetImageSet', 'ListImageSetVersions', 'GetImageSetMetadata', 'GetImageFrame'] as const).filter(want);
    if (imageSetId) {
      const set = dsArn(`/imageset/${imageSetId}`);
      const on = { datastoreId, imageSetId };
      if (want('GetImageSet')) await probe('GetImageSet', set, () => client.send(new GetImageSetCommand(on), { abortSignal: timeout() }), (r) => `version ${r.versionId}, ${r.imageSetState}`);
      if (want('ListImageSetVersions')) await probe('ListImageSetVersions', set, () => client.send(new ListImageSetVersionsCommand({ ...on, maxResults: 1 }), { abortSignal: timeout() }), () => 'versions listed');
      let frameId: string | undefined;
      if (want('GetImageSetMetadata') || want('GetImageFrame')) {
        const meta = await probe('GetImageSetMetadata', set, () => fetchMetadata(client, on, { maxBytes: config.maxMetadataBytes, signal: timeout() }), (r) => `${Object.keys(r.document.Study?.Series ?? {}).length} series`);
        frameId = meta && firstFrameId(meta.document);
      }
      if (want('GetImageFrame')) {
        if (frameId) {
          await probe('GetImageFrame', set, async () => {
            const res = await client.send(new GetImageFrameCommand({ ...on, imageFrameInformation: { imageFrameId: frameId } }), { abortSignal: timeout() });
            return (await res.imageFrameBlob!.transformToByteArray()).length;
          }, (bytes) => `${bytes} bytes`);
        } else add({ status: 'skip', title: `medical-imaging:GetImageFrame on ${label}: not checked (no frame ID: the metadata could not be read or holds no frames)` });
      }
    } else if (imageSetActions.length) {
      add({ status: 'skip', title: `${imageSetActions.map((a) => `medical-imaging:${a}`).join(', ')} on ${label}: not checked (no image set found to read)` });
    }

    if (want('ListDICOMImportJobs') || want('GetDICOMImportJob')) {
      const jobs = await probe('ListDICOMImportJobs', dsArn(), () => client.send(new ListDICOMImportJobsCommand({ datastoreId, maxResults: 1 }), { abortSignal: timeout() }), (r) => `${r.jobSummaries?.length ? 'found' : 'no'} import jobs`);
      const jobId = jobs?.jobSummaries?.[0]?.jobId;
      if (want('GetDICOMImportJob')) {
        if (jobId) await probe('GetDICOMImportJob', dsArn(), () => client.send(new GetDICOMImportJobCommand({ datastoreId, jobId }), { abortSignal: timeout() }), (r) => `job ${jobId} ${r.jobProperties?.jobStatus}`);
        else add({ status: 'skip', title: `medical-imaging:GetDICOMImportJob on ${label}: not checked (no import job found)` });
      }
    }
    if (want('ListTagsForResource')) {
      const resourceArn = arn ?? `arn:aws:medical-imaging:${region}:000000000000:datastore/${datastoreId}`;
      await probe('ListTagsForResource', dsArn(), () => client.send(new ListTagsForResourceCommand({ resourceArn }), { abortSignal: timeout() }), (r) => `${Object.keys(r.tags ?? {}).length} tag(s)`);
    }
    await checkDicomweb(datastoreId, label, probe);
  }

  async function checkDicomweb(
    datastoreId: string,
    label: string,
    probe: <T>(action: HealthImagingAction, resource: string, call: () => Promise<T>, found: (value: T) => string) => Promise<T | undefined>,
  ): Promise<void> {
    // Where the DICOMweb tools go (none without a region to derive it from).
    const endpoint = await dicomwebEndpoint(config, client).catch(() => undefined);
    if (!endpoint) return;
    const usesDicomweb = [...needed].some((a) => /DICOM(?!ImportJob)/.test(a));
    // The tools' own DICOMweb client: the same URL layout (HealthImaging's, a template, or a plain root such as
    // Orthanc's), signing and errors.
    const dicomweb = new DicomwebClient(endpoint, client, config.datastoreIds);
    const get = (path: string, query: Record<string, string> = {}) => dicomweb.getJson(datastoreId, path, query, timeout()) as Promise<Array<Record<string, { Value?: unknown[] }>>>;
    try {
      const studies = await get('/studies', { limit: '1' });
      add({ status: 'ok', title: `DICOMweb: ${endpoint} answers; medical-imaging:SearchDICOMStudies on ${label}: ${studies.length ? 'found a study' : 'no studies'}` });
      // Walk down one study → series → instance, calling only what the exposed tools use (and the searches that
      // lead there, whose denial is then only a warning).
      const study = uidOf(studies[0], '0020000D');
      const below: HealthImagingAction[] = ['SearchDICOMSeries', 'SearchDICOMInstances', 'GetDICOMSeriesMetadata', 'GetDICOMInstanceMetadata', 'GetDICOMInstance'];
      if (!study || !below.some((a) => needed.has(a))) return;
      const resource = `datastore ${datastoreId}`;
      const series = uidOf((await probe('SearchDICOMSeries', resource, () => get(`/studies/${study}/series`, { limit: '1' }), (r) => `${r.length} series`))?.[0], '0020000E');
      if (!series) return;
      const seriesPath = `/studies/${study}/series/${series}`;
      if (needed.has('GetDICOMSeriesMetadata')) await probe('GetDICOMSeriesMetadata', resource, () => get(`${seriesPath}/metadata`), (r) => `${r.length} instance(s)`);
      const instance = uidOf((await probe('SearchDICOMInstances', resource, () => get(`${seriesPath}/instances`, { limit: '1' }), (r) => `${r.length} instance(s)`))?.[0], '00080018');
      if (!instance) return;
      if (needed.has('GetDICOMInstanceMetadata')) await probe('GetDICOMInstanceMetadata', resource, () => get(`${seriesPath}/instances/${instance}/metadata`), () => 'read');
      if (needed.has('GetDICOMInstance')) {
        await probe('GetDICOMInstance', resource, async () => {
          const res = await dicomweb.request(datastoreId, { path: `${seriesPath}/instances/${instance}`, headers: { accept: dicomweb.instanceAccept('*') }, signal: timeout() });
          await ok(res);
          // The headers are the answer; the instance itself is not needed.
          res.body.destroy();
          return String(res.headers['content-type'] ?? '?');
        }, (type) => type);
      }
    } catch (err) {
      const kind = classify(err);
      const status: CheckStatus = usesDicomweb || needed.has('SearchDICOMStudies') ? 'fail' : 'warn';
      const unused = usesDicomweb ? [] : ['No exposed tool uses DICOMweb, so this does not affect the server.'];
      if (kind === 'network') {
        add({ status, title: `DICOMweb: nothing answers at ${endpoint}`, details: [errorLine(err), 'Check --dicomweb-endpoint-url (HealthImaging: https://dicom-medical-imaging.<region>.amazonaws.com) and the network.', ...unused] });
      } else if (kind === 'denied') {
        // The search is only the probe: a denial matters when an exposed tool searches studies.
        add({ status: needed.has('SearchDICOMStudies') ? 'fail' : 'warn', title: `DICOMweb: medical-imaging:SearchDICOMStudies on ${label}: access denied`, details: [errorLine(err), ...deniedFix('SearchDICOMStudies', `datastore ${datastoreId}`), ...unused] });
      } else {
        add({ status, title: `DICOMweb: ${endpoint} answered with an error`, details: [errorLine(err), ...unused] });
      }
    }
  }
}

/** The first value of a DICOM JSON attribute that holds a UID. */
function uidOf(dataset: Record<string, { Value?: unknown[] }> | undefined, tag: string): string | undefined {
  const value = dataset?.[tag]?.Value?.[0];
  return typeof value === 'string' ? value : undefined;
}

function firstFrameId(document: { Study?: { Series?: Record<string, { Instances?: Record<string, { ImageFrames?: Array<{ ID?: string }> }> }> } }): string | undefined {
  for (const series of Object.values(document.Study?.Series ?? {})) {
    for (const instance of Object.values(series.Instances ?? {})) {
      const id = instance.ImageFrames?.[0]?.ID;
      if (id) return id;
    }
  }
  return undefined;
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };

export function formatReport(results: readonly CheckResult[]): string {
  const lines = results.flatMap((r) => [`${MARK[r.status]} ${r.title}`, ...(r.details ?? []).map((d) => `    ${d}`)]);
  const failures = results.filter((r) => r.status === 'fail').length;
  const warnings = results.filter((r) => r.status === 'warn').length;
  lines.push('', failures ? `${failures} problem(s) found${warnings ? `, ${warnings} warning(s)` : ''}.` : `All checks passed${warnings ? ` (${warnings} warning(s))` : ''}.`);
  return lines.join('\n');
}

export const exitCodeOf = (results: readonly CheckResult[]) => (results.some((r) => r.status === 'fail') ? 1 : 0);
