/**
 * One zod-validated configuration for the MCP server. Precedence: command-line flags > HEALTHIMAGING_MCP_* environment
 * variables > defaults. Each option's flag is its kebab-case name (`allowWrite` → `--allow-write`) and its environment
 * variable the upper snake case (`HEALTHIMAGING_MCP_ALLOW_WRITE`); `--help` and the README table are generated from
 * this schema.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
// The tool and toolset names are checked where the flags are parsed, so that a typo fails at startup naming the valid
// ones (tool modules import only the Config type from here, so this does not make a cycle).
import { ALL_TOOLS } from './tools/index.js';
import { TOOLSETS } from './tools/types.js';

const flagBoolean = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A comma-separated list (`a,b`): trimmed, de-duplicated, not empty; `problem` describes the items `valid` rejects. */
const commaList = (what: string, valid: (item: string) => boolean, problem: (invalid: string) => string) =>
  z
    .string()
    .transform((s) => [...new Set(s.split(',').map((item) => item.trim()).filter(Boolean))])
    .check((ctx) => {
      const invalid = ctx.value.filter((item) => !valid(item)).map((item) => `'${item}'`);
      if (invalid.length) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem(invalid.join(', ')) });
      if (!ctx.value.length) ctx.issues.push({ code: 'custom', input: ctx.value, message: `give at least one ${what}` });
    });
const nameList = (names: readonly string[], what: string) => commaList(what, (item) => names.includes(item), (invalid) => `unknown ${what} ${invalid}; valid: ${names.join(', ')}`);

const TOOL_NAMES = ALL_TOOLS.map((tool) => tool.name);
const DATASTORE_ID = /^[0-9a-z]{32}$/;
/** Longest a confirmation may stay open: the elicitation wait and the token lifetime. */
export const MAX_CONFIRM_SECONDS = 300;

export const configSchema = z.object({
  transport: z.enum(['stdio', 'http']).default('stdio').describe('How MCP clients connect: stdio (spawned by the client) or Streamable HTTP at /mcp'),
  host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP transport binds to'),
  port: z.coerce.number().int().min(0).max(65535).default(8808).describe('Port of the HTTP transport (0 picks a free one)'),
  backend: z.enum(['local', 'aws']).default('local').describe('local: the embedded HealthImaging-compatible service with demo data; aws: AWS HealthImaging through the standard credential chain'),
  dataDir: z.string().min(1).default(path.join(os.homedir(), '.healthimaging-mcp', 'local')).describe('Storage directory of the embedded local service'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1').optional().describe('AWS region (default: from the profile or AWS_REGION; us-east-1 for the local backend)'),
  profile: z.string().min(1).optional().describe('AWS profile of the shared config/credentials files'),
  endpointUrl: z.string().url().optional().describe('A HealthImaging-compatible endpoint to use instead of AWS (host prefixes are then disabled)'),
  allowWrite: flagBoolean.optional().describe('List and enable the tools that change data (create, import, store, update, copy, delete, tag) or save files. Default: on with the local backend (demo data), off with aws'),
  readOnly: flagBoolean.default(false).describe('Read-only, whatever else is set: tools that change data are neither listed nor callable'),
  toolsets: nameList(['all', ...TOOLSETS], 'toolset').optional().describe(`Expose only these toolsets, comma-separated: ${TOOLSETS.join(', ')} or all (default: all, or none when --tools is given)`),
  tools: nameList(TOOL_NAMES, 'tool').optional().describe('Expose these tools (comma-separated names), in addition to --toolsets'),
  excludeTools: nameList(TOOL_NAMES, 'tool').optional().describe('Never expose these tools (comma-separated names); wins over --toolsets and --tools'),
  datastoreIds: commaList('datastore ID', (id) => DATASTORE_ID.test(id), (invalid) => `not a datastore ID (32 lowercase letters or digits): ${invalid}`)
    .optional()
    .describe('Confine every tool and resource to these datastores (comma-separated IDs); with exactly one, datastore_id defaults to it'),
  confirmMode: z
    .enum(['elicit', 'token', 'none'])
    .default('elicit')
    .describe('How destructive actions are confirmed when the client cannot show a confirmation dialog: elicit refuses them; token returns a preview and a single-use token for a second call; none (automation only) runs them unconfirmed'),
  confirmTimeoutSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_CONFIRM_SECONDS)
    .default(MAX_CONFIRM_SECONDS)
    .describe(`How long a confirmation stays open: the wait for the person's answer, and a confirmation token's lifetime (at most ${MAX_CONFIRM_SECONDS})`),
  auditLog: z.string().min(1).optional().describe('Also append the audit log (one JSON line per write attempt; always on stderr) to this file'),
  allowDir: commaList('directory', (dir) => dir.length > 0, (invalid) => `not a directory: ${invalid}`)
    .transform((dirs) => dirs.map((dir) => path.resolve(dir)))
    .optional()
    .describe(
      'Directories tools may read files from and save files to (comma-separated). Without it, the client\'s MCP roots over stdio; with neither, file tools are refused',
    ),
  dicomwebEndpointUrl: z
    .string()
    .url()
    .optional()
    .describe(
      'The DICOMweb endpoint (STOW-RS, QIDO-RS, WADO-RS). Without a path it is laid out as HealthImaging\'s (/datastore/{id}/studies…); {datastore_id} in it is replaced; any other path is a plain DICOMweb root (Orthanc: http://host:8042/dicom-web). Default: the local service or --endpoint-url, else https://dicom-medical-imaging.{region}.amazonaws.com',
    ),
  redactPhi: flagBoolean
    .default(false)
    .describe('Mask patient-identifying attributes (names, IDs, birth dates, addresses: the DICOM PS3.15 basic profile) in every tool result and resource'),
  maxMetadataBytes: bytes(50 * 1024 * 1024).describe('Largest gunzipped metadata document the server reads (decompression-bomb guard)'),
  maxFrameBytes: bytes(4 * 1024 * 1024).describe('Largest frame get_image_frame returns inline'),
  maxResponseBytes: bytes(256 * 1024 * 1024).describe('Largest response body the server reads from the backend (frames, metadata, lists); a larger one is refused as it arrives, so a hostile or broken endpoint cannot exhaust memory'),
  requestTimeoutSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(60)
    .describe('How long a backend request may take to connect, to start answering, or sit idle mid-response before it fails (it is then retried per the AWS SDK policy)'),
});

export type Config = z.output<typeof configSchema>;
export type ConfigKey = keyof Config;

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (key: string) => `HEALTHIMAGING_MCP_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export class ConfigError extends Error {}

/**
 * Options that are switches (`--allow-write`), as opposed to options that take a value: those whose value is a boolean,
 * which is to say that a bare `true` parses to `true`. (Asking the default would miss switches without one.)
 */
export const isSwitch = (key: string): boolean => configSchema.shape[key as ConfigKey]?.safeParse(true).data === true;

/**
 * Whether tools that change data are offered. `--read-only` wins over everything; otherwise `--allow-write`, which by
 * default is on for the local backend (demo data, still behind confirmations) and off against AWS.
 */
export function writesEnabled(config: Pick<Config, 'readOnly' | 'allowWrite' | 'backend'>): boolean {
  if (config.readOnly) return false;
  return config.allowWrite ?? config.backend === 'local';
}

/** Builds the configuration from flags (already split into key → value) and the environment. */
export function loadConfig(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = fromEnv;
    if (flags[key] !== undefined) raw[key] = flags[key];
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return `--${kebab(key)} (${envName(key)}): ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}
