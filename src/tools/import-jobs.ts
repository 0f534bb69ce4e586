/** Toolset `import_jobs`: start, follow and list DICOM import jobs. */
import { GetDICOMImportJobCommand, ListDICOMImportJobsCommand, StartDICOMImportJobCommand } from '@aws-sdk/client-medical-imaging';
import { z } from 'zod';
import { clientToken, datastoreId, isoTime, jobId, maxResults, nextToken, roleArn, s3Uri } from './fields.js';
import { defineTool, READ } from './types.js';

const jobShape = {
  job_id: z.string(),
  job_name: z.string().optional(),
  status: z.string(),
  datastore_id: z.string(),
  submitted_at: z.string().optional(),
  ended_at: z.string().optional(),
  message: z.string().optional(),
};

export const startDicomImportJob = defineTool({
  name: 'start_dicom_import_job',
  title: 'Start DICOM import job',
  description:
    'Imports every DICOM P10 file under input_s3_uri into the datastore. Instances of a series join its primary image set (a new version) or, when their metadata conflicts, a new non-primary one. Runs in the background: poll get_dicom_import_job; per-file results are written under output_s3_uri. With the local backend, s3://bucket/key is the folder <data-dir>/s3/bucket/key.',
  toolset: 'import_jobs',
  inputSchema: {
    datastore_id: datastoreId,
    input_s3_uri: s3Uri.describe('Where the DICOM files are, e.g. s3://my-bucket/incoming/'),
    output_s3_uri: s3Uri.describe('Where the job writes its manifest and per-file results'),
    data_access_role_arn: roleArn.describe('IAM role HealthImaging assumes to read the input and write the output'),
    job_name: z.string().min(1).max(64).regex(/^[A-Za-z0-9._/#-]+$/).optional().describe('A name to recognise the job by'),
    client_token: clientToken.optional(),
  },
  outputSchema: { job_id: z.string(), status: z.string(), datastore_id: z.string(), submitted_at: z.string().optional() },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, { client, signal }) {
    const res = await client.send(
      new StartDICOMImportJobCommand({
        datastoreId: args.datastore_id,
        inputS3Uri: args.input_s3_uri,
        outputS3Uri: args.output_s3_uri,
        dataAccessRoleArn: args.data_access_role_arn,
        jobName: args.job_name,
        clientToken: args.client_token,
      }),
      { abortSignal: signal },
    );
    return {
      text: `Import job ${res.jobId} is ${res.jobStatus}. Poll get_dicom_import_job with datastore_id=${res.datastoreId} job_id=${res.jobId}.`,
      structured: { job_id: res.jobId!, status: res.jobStatus!, datastore_id: res.datastoreId!, submitted_at: isoTime(res.submittedAt) },
    };
  },
});

export const getDicomImportJob = defineTool({
  name: 'get_dicom_import_job',
  title: 'Get DICOM import job',
  description:
    'Shows an import job: status (SUBMITTED, IN_PROGRESS, COMPLETED, FAILED), times, locations and message. COMPLETED does not mean every file was imported: the per-file results are under the output location.',
  toolset: 'import_jobs',
  inputSchema: { datastore_id: datastoreId, job_id: jobId },
  outputSchema: { ...jobShape, input_s3_uri: z.string().optional(), output_s3_uri: z.string().optional() },
  annotations: READ,
  async handler(args, { client, signal }) {
    const { jobProperties: p } = await client.send(new GetDICOMImportJobCommand({ datastoreId: args.datastore_id, jobId: args.job_id }), { abortSignal: signal });
    const structured = {
      job_id: p!.jobId!,
      job_name: p!.jobName,
      status: p!.jobStatus!,
      datastore_id: p!.datastoreId!,
      submitted_at: isoTime(p!.submittedAt),
      ended_at: isoTime(p!.endedAt),
      message: p!.message,
      input_s3_uri: p!.inputS3Uri,
      output_s3_uri: p!.outputS3Uri,
    };
    const text = [
      `Import job ${structured.job_id}${structured.job_name ? ` "${structured.job_name}"` : ''}: ${structured.status}`,
      `Input: ${structured.input_s3_uri ?? '?'}`,
      `Results: ${structured.output_s3_uri ?? '?'} (job-output-manifest.json, SUCCESS/success.ndjson, FAILURE/failure.ndjson)`,
      `Submitted ${structured.submitted_at ?? '?'}${structured.ended_at ? `, ended ${structured.ended_at}` : ''}`,
      ...(structured.message ? [`Message: ${structured.message}`] : []),
      ...(structured.status === 'COMPLETED' ? ['Next: search_image_sets to find the imported image sets.'] : []),
    ].join('\n');
    return { text, structured };
  },
});

export const listDicomImportJobs = defineTool({
  name: 'list_dicom_import_jobs',
  title: 'List DICOM import jobs',
  description: 'Lists the import jobs of a datastore, newest first; filter by status; page with next_token.',
  toolset: 'import_jobs',
  inputSchema: {
    datastore_id: datastoreId,
    status: z.enum(['SUBMITTED', 'IN_PROGRESS', 'COMPLETED', 'FAILED']).optional().describe('Only jobs in this status'),
    max_results: maxResults(20),
    next_token: nextToken.optional(),
  },
  outputSchema: { jobs: z.array(z.object(jobShape)), next_token: z.string().optional() },
  annotations: READ,
  async handler(args, { client, signal }) {
    const res = await client.send(
      new ListDICOMImportJobsCommand({ datastoreId: args.datastore_id, jobStatus: args.status, maxResults: args.max_results, nextToken: args.next_token }),
      { abortSignal: signal },
    );
    const jobs = (res.jobSummaries ?? []).map((j) => ({
      job_id: j.jobId!,
      job_name: j.jobName,
      status: j.jobStatus!,
      datastore_id: j.datastoreId!,
      submitted_at: isoTime(j.submittedAt),
      ended_at: isoTime(j.endedAt),
      message: j.message,
    }));
    const text = [
      jobs.length ? `${jobs.length} import job(s):` : 'No import jobs match.',
      ...jobs.map((j) => `${j.job_id}  ${j.status.padEnd(11)} ${j.submitted_at ?? ''}  ${j.job_name ?? ''}${j.message ? `  (${j.message})` : ''}`),
      ...(res.nextToken ? [`More: call again with next_token="${res.nextToken}"`] : []),
    ].join('\n');
    return { text, structured: { jobs, ...(res.nextToken && { next_token: res.nextToken }) } };
  },
});

export const IMPORT_JOB_TOOLS = [startDicomImportJob, getDicomImportJob, listDicomImportJobs];
