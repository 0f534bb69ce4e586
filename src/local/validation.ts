/**
 * Request validation with the API's own constraints (shared/healthimaging-api.md §1.4). The AWS SDK validates
 * nothing client-side, so every field is checked here; failures become a 400 ValidationException whose message
 * names the field, in the wording AWS uses ("1 validation error detected: Value at 'maxResults' failed to
 * satisfy constraint: Member must have value less than or equal to 50").
 */
import { z } from 'zod';
import { validationError } from './errors.js';

const pattern = (re: string) => `Member must satisfy regular expression pattern: ${re}`;
const lengthRange = (min: number, max: number) =>
  `Member must have length greater than or equal to ${min} and less than or equal to ${max}`;

function boundedString(min: number, max: number, re?: { source: string; regex: RegExp }) {
  let s = z.string({ error: 'Member must not be null and must be a string' }).min(min, lengthRange(min, max)).max(max, lengthRange(min, max));
  if (re) s = s.regex(re.regex, pattern(re.source));
  return s;
}

const anchored = (source: string) => ({ source, regex: new RegExp(`^(?:${source})$`) });

export const ID_32 = anchored('[0-9a-z]{32}');
export const datastoreId = boundedString(32, 32, ID_32);
export const imageSetId = boundedString(32, 32, ID_32);
export const imageFrameId = boundedString(32, 32, ID_32);
export const jobId = boundedString(1, 32, anchored('[0-9a-z]+'));
export const versionId = z.string({ error: 'Member must not be null and must be a string' }).regex(/^\d+$/, pattern('\\d+'));
export const datastoreName = boundedString(1, 256, anchored('[A-Za-z0-9._/#-]+'));
export const jobName = boundedString(1, 64, anchored('[A-Za-z0-9._/#-]+'));
export const clientToken = boundedString(1, 64, anchored('[A-Za-z0-9._-]+'));
export const kmsKeyArn = boundedString(
  1,
  512,
  anchored(
    'arn:aws[a-zA-Z-]{0,16}:kms:[a-z]{2}(-[a-z]{1,16}){1,3}-\\d{1}:\\d{12}:((key/[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12})|(alias/[a-zA-Z0-9:/_-]{1,256}))',
  ),
);
export const lambdaArn = boundedString(
  1,
  256,
  anchored(
    'arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}:\\d{12}:function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?',
  ),
);
export const roleArn = boundedString(20, 2048, anchored('arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+'));
export const s3Uri = boundedString(1, 1024, anchored('s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?'));
export const awsAccountId = boundedString(12, 12, anchored('\\d+'));
export const resourceArn = boundedString(
  1,
  2048,
  anchored(
    'arn:aws((-us-gov)|(-iso)|(-iso-b)|(-cn))?:medical-imaging:[a-z0-9-]+:[0-9]{12}:datastore/[0-9a-z]{32}(/imageset/[0-9a-z]{32})?',
  ),
);
export const tagKey = z
  .string()
  .min(1, lengthRange(1, 128))
  .max(128, lengthRange(1, 128))
  .regex(/^(?!aws:)[a-zA-Z+-=._:/]+$/, pattern('(?!aws:)[a-zA-Z+-=._:/]+'));
export const tagValue = z.string().max(256, lengthRange(0, 256));
export const tagMap = z.record(tagKey, tagValue);
export const nextToken = boundedString(1, 8192, anchored('[\\x00-\\x7F]+'));
/** maxResults arrives as a query string; the API allows 1–50. */
export const maxResults = z.coerce
  .number({ error: 'Member must be an integer' })
  .int('Member must be an integer')
  .min(1, 'Member must have value greater than or equal to 1')
  .max(50, 'Member must have value less than or equal to 50');
/** Booleans in the query string travel as `true` / `false`. */
export const queryBoolean = z.enum(['true', 'false'], { error: 'Member must be a boolean (true or false)' }).transform((v) => v === 'true');

export const DATASTORE_STATUS = ['CREATING', 'CREATE_FAILED', 'ACTIVE', 'DELETING', 'DELETED'] as const;
export const JOB_STATUS = ['SUBMITTED', 'IN_PROGRESS', 'COMPLETED', 'FAILED'] as const;
export const LOSSLESS_FORMATS = ['HTJ2K', 'JPEG_2000_LOSSLESS'] as const;
export const enumOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `Member must satisfy enum value set: [${values.join(', ')}]` });

function issueLocation(issue: z.core.$ZodIssue): string {
  return issue.path.length ? issue.path.map(String).join('.') : 'body';
}

/** Parses `input` with `schema`, or throws a ValidationException naming each failing field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // One issue per field: a value that is too short usually breaks the pattern as well.
  const seen = new Set<string>();
  const issues = result.error.issues.filter((issue) => {
    const key = issueLocation(issue);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const shown = issues.slice(0, 5).map((issue) => {
    const message =
      issue.code === 'invalid_type' && issue.input === undefined ? 'Member must not be null' : issue.message;
    return `Value at '${issueLocation(issue)}' failed to satisfy constraint: ${message}`;
  });
  const count = issues.length;
  throw validationError(`${count} validation error${count === 1 ? '' : 's'} detected: ${shown.join('; ')}`);
}

export const tooManyTags = (max: number) =>
  validationError(`1 validation error detected: Value at 'tags' failed to satisfy constraint: a resource can have at most ${max} tags`);
