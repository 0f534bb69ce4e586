/**
 * The audit log: one JSON line per write attempt (every call of a write tool except dry runs), on stderr and, with
 * `--audit-log`, appended to a file. A line holds the time, the tool, the IDs it targeted and produced, the outcome,
 * how it was confirmed, the AWS request ID of the write and the error's name. Never values: no DICOM attributes, tag
 * values, names, S3 paths or error messages (which can quote input). IDs are taken only from fields named `*_id` /
 * `*_arn` whose values have the shape of HealthImaging IDs and ARNs, so free text cannot slip in under an ID's name.
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  CopyImageSetCommand,
  CreateDatastoreCommand,
  DeleteDatastoreCommand,
  DeleteImageSetCommand,
  type MedicalImagingClient,
  StartDICOMImportJobCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateImageSetMetadataCommand,
} from '@aws-sdk/client-medical-imaging';
import { interceptSend } from '../aws/client.js';
import { ConfigError } from '../config.js';
import type { Outcome } from './policy.js';

/** How a write was confirmed: not needed, in the client's dialog, with a token, skipped (`--confirm-mode none`), or impossible. */
export type ConfirmationPath = 'not_required' | 'elicitation' | 'token' | 'none' | 'unavailable';

/** What became of the attempt: a guard outcome, `refused` (by the guard, before writing) or `failed` (the write failed). */
export type AuditOutcome = Exclude<Outcome, 'dry_run'> | 'refused' | 'failed';

export interface AuditEntry {
  time: string;
  type: 'audit';
  tool: string;
  /** A short digest of the MCP session ID (Streamable HTTP), to group one client's calls without logging the ID. */
  session?: string;
  targets: Record<string, string>;
  outcome: AuditOutcome;
  confirmation: ConfirmationPath;
  aws_request_id?: string;
  /** The error's name (GuardError name, AWS exception), never its message. */
  error?: string;
  /** IDs the write produced (a new datastore, job or image set, the new version). */
  result?: Record<string, string>;
}

export type AuditRecord = Omit<AuditEntry, 'time' | 'type'>;

export class AuditLog {
  constructor(
    private readonly sinks: ReadonlyArray<(line: string) => void>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** stderr, plus the `--audit-log` file when set; fails now (not at the first write) when the file cannot be opened. */
  static fromConfig(config: { auditLog?: string }, stderr: (text: string) => void = (text) => process.stderr.write(text)): AuditLog {
    const sinks = [(line: string) => stderr(`${line}\n`)];
    const file = config.auditLog;
    if (file !== undefined) {
      try {
        closeSync(openSync(file, 'a', 0o600));
      } catch (err) {
        throw new ConfigError(`--audit-log: cannot open ${file}: ${(err as Error).message}`);
      }
      sinks.push((line) => {
        try {
          appendFileSync(file, `${line}\n`);
        } catch (err) {
          // The line is on stderr already; say that the file missed it rather than failing a write that happened.
          stderr(`healthimaging-mcp: could not append to the audit log ${file}: ${(err as Error).message}\n`);
        }
      });
    }
    return new AuditLog(sinks);
  }

  record(entry: AuditRecord): void {
    const { tool, session, targets, outcome, confirmation, aws_request_id, error, result } = entry;
    // Always the same key order, so the lines read (and diff) alike; undefined fields are left out.
    const line = JSON.stringify({ time: this.now().toISOString(), type: 'audit', tool, session, targets, outcome, confirmation, aws_request_id, error, result } satisfies AuditEntry);
    for (const sink of this.sinks) sink(line);
  }
}

const ID = /^[0-9a-z]{1,64}$/;
const ARN = /^arn:aws[a-z-]*:medical-imaging:[a-z0-9-]+:\d{12}:datastore\/[0-9a-z]{32}(\/imageset\/[0-9a-z]{32})?$/;
/** Results that nest the IDs of two image sets (copy_image_set). */
const NESTED_RESULTS = ['source', 'destination'];

const isIdField = (key: string, value: unknown): value is string =>
  typeof value === 'string' && ((key.endsWith('_id') && ID.test(value)) || (key.endsWith('_arn') && ARN.test(value)));

/** The ID fields of a call's arguments (top level only: nested objects are DICOM or tags). */
export function auditTargets(args: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(args).filter(([key, value]) => isIdField(key, value))) as Record<string, string>;
}

/** The ID fields of a structured result, including those of a copy's source and destination. */
export function auditResult(structured: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!structured) return undefined;
  const ids: Record<string, string> = auditTargets(structured);
  for (const key of NESTED_RESULTS) {
    const nested = structured[key];
    if (nested && typeof nested === 'object') for (const [k, v] of Object.entries(auditTargets(nested as Record<string, unknown>))) ids[`${key}.${k}`] = v;
  }
  return Object.keys(ids).length ? ids : undefined;
}

export const sessionDigest = (sessionId: string | undefined) => (sessionId === undefined ? undefined : createHash('sha256').update(sessionId).digest('hex').slice(0, 12));

const WRITE_COMMANDS = [
  CopyImageSetCommand,
  CreateDatastoreCommand,
  DeleteDatastoreCommand,
  DeleteImageSetCommand,
  StartDICOMImportJobCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateImageSetMetadataCommand,
];

/** `client`, noting into `requestIds` the AWS request ID of every write it sends (answered or failed). */
export function noteWriteRequestIds(client: MedicalImagingClient, requestIds: string[]): MedicalImagingClient {
  const note = (metadata: { requestId?: string } | undefined) => {
    if (metadata?.requestId) requestIds.push(metadata.requestId);
  };
  return interceptSend(client, async (command, send) => {
    if (!WRITE_COMMANDS.some((Write) => command instanceof Write)) return send();
    try {
      const output = (await send()) as { $metadata?: { requestId?: string } };
      note(output.$metadata);
      return output;
    } catch (err) {
      note((err as { $metadata?: { requestId?: string } }).$metadata);
      throw err;
    }
  });
}
