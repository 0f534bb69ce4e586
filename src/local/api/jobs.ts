/** StartDICOMImportJob, GetDICOMImportJob, ListDICOMImportJobs (spec §1.2, §3.1). */
import { z } from 'zod';
import { conflict, notFound, ServiceError } from '../errors.js';
import type { Route } from '../http.js';
import { mapS3Uri } from '../s3.js';
import { nowSeconds, type JobRecord } from '../store/records.js';
import * as v from '../validation.js';
import { activeDatastore, compareKeys, fingerprint, newId, paginate, parseInput, parseJsonBody, queryValue, type ServiceContext } from './context.js';

const startInput = z.object({
  jobName: v.jobName.optional(),
  dataAccessRoleArn: v.roleArn,
  clientToken: v.clientToken.optional(),
  inputS3Uri: v.s3Uri,
  outputS3Uri: v.s3Uri,
  inputOwnerAccountId: v.awsAccountId.optional(),
  // Newer service-model member (spec §1.9): accepted and echoed, not acted on by the local service.
  importConfiguration: z.record(z.string(), z.unknown()).optional(),
});

function jobProperties(job: JobRecord) {
  return {
    jobId: job.jobId,
    ...(job.jobName && { jobName: job.jobName }),
    jobStatus: job.jobStatus,
    datastoreId: job.datastoreId,
    dataAccessRoleArn: job.dataAccessRoleArn,
    ...(job.endedAt !== undefined && { endedAt: job.endedAt }),
    submittedAt: job.submittedAt,
    inputS3Uri: job.inputS3Uri,
    outputS3Uri: job.outputS3Uri,
    ...(job.message && { message: job.message }),
  };
}

export function jobRoutes(service: ServiceContext): Route[] {
  const { store, settings } = service;
  return [
    {
      method: 'POST',
      path: '/startDICOMImportJob/datastore/{datastoreId}',
      handler: async (ctx) => {
        const { datastoreId } = parseInput(z.object({ datastoreId: v.datastoreId }), ctx.params);
        const input = parseInput(startInput, parseJsonBody(ctx));
        // Validate both locations now, so a bad URI is a 400 and not a failed job.
        mapS3Uri(settings.s3Root, input.inputS3Uri, 'inputS3Uri');
        mapS3Uri(settings.s3Root, input.outputS3Uri, 'outputS3Uri');
        const clientToken = input.clientToken ?? newId();
        const requestFingerprint = fingerprint({ ...input, clientToken: undefined });
        return store.locks.run(`jobs:${datastoreId}`, async () => {
          activeDatastore(service, datastoreId);
          const previous = [...store.jobs(datastoreId)].find((j) => j.clientToken === clientToken);
          if (previous) {
            if (previous.requestFingerprint !== requestFingerprint) throw conflict(`clientToken ${clientToken} was already used for a different import job.`);
            return { json: { datastoreId, jobId: previous.jobId, jobStatus: previous.jobStatus, submittedAt: previous.submittedAt } };
          }
          const running = [...store.jobs(datastoreId)].filter((j) => j.jobStatus === 'SUBMITTED' || j.jobStatus === 'IN_PROGRESS').length;
          if (running >= settings.maxConcurrentImportJobs) {
            throw new ServiceError('ServiceQuotaExceededException', `Datastore ${datastoreId} already runs ${running} import jobs, the concurrent import job quota.`);
          }
          const jobId = newId();
          const base = input.outputS3Uri.endsWith('/') ? input.outputS3Uri : `${input.outputS3Uri}/`;
          const job: JobRecord = {
            datastoreId,
            jobId,
            ...(input.jobName && { jobName: input.jobName }),
            jobStatus: 'SUBMITTED',
            dataAccessRoleArn: input.dataAccessRoleArn,
            inputS3Uri: input.inputS3Uri,
            outputS3Uri: `${base}${datastoreId}-DicomImport-${jobId}/`,
            ...(input.inputOwnerAccountId && { inputOwnerAccountId: input.inputOwnerAccountId }),
            clientToken,
            requestFingerprint,
            submittedAt: nowSeconds(),
          };
          await store.putJob(job);
          service.imports.submit(datastoreId, jobId);
          return { json: { datastoreId, jobId, jobStatus: job.jobStatus, submittedAt: job.submittedAt } };
        });
      },
    },
    {
      method: 'GET',
      path: '/getDICOMImportJob/datastore/{datastoreId}/job/{jobId}',
      handler: async (ctx) => {
        const { datastoreId, jobId } = parseInput(z.object({ datastoreId: v.datastoreId, jobId: v.jobId }), ctx.params);
        if (!store.datastore(datastoreId)) throw notFound(`Datastore ${datastoreId} does not exist.`);
        const job = store.job(datastoreId, jobId);
        if (!job) throw notFound(`Import job ${jobId} does not exist in datastore ${datastoreId}.`);
        return { json: { jobProperties: jobProperties(job) } };
      },
    },
    {
      method: 'GET',
      path: '/listDICOMImportJobs/datastore/{datastoreId}',
      handler: async (ctx) => {
        const { datastoreId } = parseInput(z.object({ datastoreId: v.datastoreId }), ctx.params);
        const query = parseInput(
          z.object({ jobStatus: v.enumOf(v.JOB_STATUS).optional(), nextToken: v.nextToken.optional(), maxResults: v.maxResults.optional() }),
          { jobStatus: queryValue(ctx, 'jobStatus'), nextToken: queryValue(ctx, 'nextToken'), maxResults: queryValue(ctx, 'maxResults') },
        );
        if (!store.datastore(datastoreId)) throw notFound(`Datastore ${datastoreId} does not exist.`);
        // Newest first.
        const newestFirst = (a: { k: string | number; id: string }, b: { k: string | number; id: string }) => -compareKeys(a, b);
        const matching = [...store.jobs(datastoreId)].filter((j) => !query.jobStatus || j.jobStatus === query.jobStatus);
        const { page, nextToken } = paginate(matching, {
          key: (j) => j.submittedAt,
          id: (j) => j.jobId,
          compare: newestFirst,
          query: { status: query.jobStatus },
          nextToken: query.nextToken,
          maxResults: query.maxResults ?? 50,
        });
        return {
          json: {
            jobSummaries: page.map((j) => {
              const { inputS3Uri: _i, outputS3Uri: _o, ...summary } = jobProperties(j);
              return summary;
            }),
            ...(nextToken && { nextToken }),
          },
        };
      },
    },
  ];
}
