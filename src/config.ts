/**
 * One zod-validated configuration for the MCP server. Precedence: command-line flags > HEALTHIMAGING_MCP_* environment
 * variables > defaults. Each option's flag is its kebab-case name (`allowWrite` → `--allow-write`) and its environment
 * variable the upper snake case (`HEALTHIMAGING_MCP_ALLOW_WRITE`); `--help` and the README table are generated from
 * this schema.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const flagBoolean = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  transport: z.enum(['stdio', 'http']).default('stdio').describe('How MCP clients connect: stdio (spawned by the client) or Streamable HTTP at /mcp'),
  host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP transport binds to'),
  port: z.coerce.number().int().min(0).max(65535).default(8808).describe('Port of the HTTP transport (0 picks a free one)'),
  backend: z.enum(['local', 'aws']).default('local').describe('local: the embedded HealthImaging-compatible service with demo data; aws: AWS HealthImaging through the standard credential chain'),
  dataDir: z.string().min(1).default(path.join(os.homedir(), '.healthimaging-mcp', 'local')).describe('Storage directory of the embedded local service'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1').optional().describe('AWS region (default: from the profile or AWS_REGION; us-east-1 for the local backend)'),
  profile: z.string().min(1).optional().describe('AWS profile of the shared config/credentials files'),
  endpointUrl: z.string().url().optional().describe('A HealthImaging-compatible endpoint to use instead of AWS (host prefixes are then disabled)'),
  allowWrite: flagBoolean.default(false).describe('List and enable the tools that change data (create, import, update, copy, delete, tag)'),
  maxMetadataBytes: bytes(50 * 1024 * 1024).describe('Largest gunzipped metadata document the server reads (decompression-bomb guard)'),
  maxFrameBytes: bytes(4 * 1024 * 1024).describe('Largest frame get_image_frame returns inline'),
});

export type Config = z.output<typeof configSchema>;
export type ConfigKey = keyof Config;

export const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (key: string) => `HEALTHIMAGING_MCP_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export class ConfigError extends Error {}

/** Options that are switches (`--allow-write`), as opposed to options that take a value. */
export const isSwitch = (key: string): boolean => typeof configSchema.shape[key as ConfigKey]?.safeParse(undefined).data === 'boolean';

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

/** `--help` text for the options, generated from the schema. */
export function optionsHelp(): string {
  const rows = Object.entries(configSchema.shape).map(([key, schema]) => {
    const isBoolean = isSwitch(key);
    const flag = `--${kebab(key)}${isBoolean ? '' : ' <value>'}`;
    const fallback = schema.safeParse(undefined);
    const shownDefault = fallback.success && fallback.data !== undefined ? ` (default: ${String(fallback.data)})` : '';
    return `  ${flag.padEnd(28)} ${schema.description ?? ''}${shownDefault}\n  ${''.padEnd(28)} env ${envName(key)}`;
  });
  return rows.join('\n');
}
