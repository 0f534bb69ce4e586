/**
 * `healthimaging-mcp --help`, generated: the commands and examples are data here, the options and their environment
 * variables, defaults and accepted values come from the config schema, so the text cannot drift from what is parsed.
 */
import os from 'node:os';
import { z } from 'zod';
import { configSchema, envName, isSwitch, kebab } from './config.js';
import { LOCAL_HELP } from './local/defaults.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

export const COMMANDS: ReadonlyArray<{ usage: string; summary: string }> = [
  { usage: '[options]', summary: 'run the MCP server (default: stdio, on the embedded local service with demo data)' },
  { usage: 'doctor [options]', summary: 'check Node.js, region, credentials, the backend, DICOMweb and the IAM permissions the enabled tools need; exit code 1 on a problem' },
  { usage: 'local [options]', summary: 'run the local HealthImaging-compatible service alone (for the AWS CLI and SDKs)' },
  { usage: 'help', summary: 'print this text (also --help)' },
];

/** Environment variables that are not options: the HTTP token, and the AWS SDK's own. */
export const OTHER_ENVIRONMENT: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: 'HEALTHIMAGING_MCP_AUTH_TOKEN', meaning: 'Bearer token HTTP clients must send (required to bind anywhere but loopback)' },
  { name: 'AWS_PROFILE, AWS_REGION', meaning: 'Profile and region when --profile / --region are not given (AWS backend)' },
  { name: 'AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN', meaning: 'Credentials, as in the standard AWS chain (also SSO, instance and task roles)' },
];

export const EXAMPLES: ReadonlyArray<{ command: string; meaning: string }> = [
  { command: 'healthimaging-mcp', meaning: 'stdio server on the embedded local service with demo data (what an MCP client spawns)' },
  { command: 'healthimaging-mcp --transport http', meaning: 'Streamable HTTP at http://127.0.0.1:8808/mcp' },
  { command: 'healthimaging-mcp --backend aws --region us-east-1 --profile imaging', meaning: 'AWS HealthImaging, read-only (the default against AWS)' },
  {
    command: 'healthimaging-mcp --backend aws --region us-east-1 --allow-write --exclude-tools delete_image_set,delete_datastore',
    meaning: 'AWS with curation writes but no deletions',
  },
  { command: 'healthimaging-mcp doctor --backend aws --region us-east-1 --profile imaging', meaning: 'check that configuration before giving it to an agent' },
  { command: 'healthimaging-mcp local --port 8080 --seed-demo', meaning: 'the local service alone, for aws --endpoint-url http://127.0.0.1:8080' },
];

/** `<stdio|http>`, `<n>`, `<url>` or `<value>`: what an option takes, from its schema. */
function placeholder(schema: z.ZodType): string {
  try {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { enum?: unknown[]; type?: string; format?: string };
    if (json.enum) return `<${json.enum.join('|')}>`;
    if (json.type === 'integer' || json.type === 'number') return '<n>';
    if (json.format === 'uri') return '<url>';
  } catch {
    // A schema JSON Schema cannot express: the generic placeholder.
  }
  return '<value>';
}

const home = (value: string) => (value.startsWith(os.homedir()) ? `~${value.slice(os.homedir().length)}` : value);

/** The options, two lines each: flag, meaning and default; then the environment variable. */
export function optionsText(): string {
  return Object.entries(configSchema.shape)
    .map(([key, schema]) => {
      const flag = `--${kebab(key)}${isSwitch(key) ? '' : ` ${placeholder(schema as z.ZodType)}`}`;
      const fallback = (schema as z.ZodType).safeParse(undefined);
      const shownDefault = fallback.success && fallback.data !== undefined ? ` (default: ${home(String(fallback.data))})` : '';
      return `  ${flag.padEnd(30)} ${schema.description ?? ''}${shownDefault}\n  ${''.padEnd(30)} env ${envName(key)}`;
    })
    .join('\n');
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length)) + 2;
  return [
    `${SERVER_NAME} ${SERVER_VERSION}: an MCP server for AWS HealthImaging`,
    '',
    'Usage:',
    ...COMMANDS.map((c) => `  ${SERVER_NAME} ${c.usage.padEnd(width)} ${c.summary}`),
    '',
    'Options of the server and of doctor (flags win over environment variables, which win over defaults):',
    optionsText(),
    '',
    'Environment:',
    ...OTHER_ENVIRONMENT.map((e) => `  ${e.name}\n  ${''.padEnd(30)} ${e.meaning}`),
    '',
    'Examples:',
    ...EXAMPLES.map((e) => `  ${e.command}\n      ${e.meaning}`),
    '',
    LOCAL_HELP,
  ].join('\n');
}
