/** Input fields shared by the tools, with the API's own constraints and descriptions written for an agent. */
import { z } from 'zod';

const id32 = (what: string) =>
  z.string().regex(/^[0-9a-z]{32}$/, `${what} is 32 lowercase letters or digits`);

export const datastoreId = id32('A datastore ID').describe('Datastore ID (32 lowercase hex characters), from list_datastores');
export const imageSetId = id32('An image set ID').describe('Image set ID (32 lowercase hex characters), from search_image_sets');
export const imageFrameId = id32('An image frame ID').describe('Image frame ID, from get_image_set_metadata');
export const versionId = z.string().regex(/^\d+$/, 'a version ID is a positive integer as a string, e.g. "3"');
export const jobId = z.string().regex(/^[0-9a-z]{1,32}$/, 'a job ID is 1–32 lowercase letters or digits').describe('Import job ID, from start_dicom_import_job or list_dicom_import_jobs');
export const nextToken = z.string().min(1).max(8192).describe('Pass the next_token of the previous call to get the next page');
export const maxResults = (fallback: number) =>
  z.number().int().min(1).max(50).default(fallback).describe(`Items per page, 1–50 (default ${fallback})`);
export const resourceArn = z
  .string()
  .regex(
    /^arn:aws((-us-gov)|(-iso)|(-iso-b)|(-cn))?:medical-imaging:[a-z0-9-]+:[0-9]{12}:datastore\/[0-9a-z]{32}(\/imageset\/[0-9a-z]{32})?$/,
    'a HealthImaging datastore or image set ARN: arn:aws:medical-imaging:<region>:<account>:datastore/<id>[/imageset/<id>]',
  )
  .describe('ARN of a datastore or image set (get_datastore and get_image_set return them)');
export const tagKey = z.string().min(1).max(128).regex(/^(?!aws:)[a-zA-Z+-=._:/]+$/, 'tag keys use letters, digits and + - = . _ : /, and may not start with aws:');
export const tags = z.record(tagKey, z.string().max(256)).describe('Tags as key → value (at most 50 per resource)');
export const s3Uri = z.string().max(1024).regex(/^s3:\/\/[a-z0-9][.\-a-z0-9]{1,61}[a-z0-9](\/.*)?$/, 'an S3 URI such as s3://bucket/prefix/');
export const roleArn = z.string().min(20).max(2048).regex(/^arn:aws(-[^:]+)?:iam::[0-9]{12}:role\/.+$/, 'an IAM role ARN such as arn:aws:iam::123456789012:role/ImportRole');
export const clientToken = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/).describe('Idempotency token: retrying with the same token does not create a second resource');

/** ISO timestamps for the model, epoch Dates for the SDK. */
export const isoTime = (date: Date | undefined) => (date ? date.toISOString() : undefined);
