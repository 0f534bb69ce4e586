/**
 * server.json for the MCP Registry, generated: name and version from package.json, the environment variables (with
 * their descriptions, defaults and choices) from the config schema, so it cannot drift from what the server reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema, envName, isSwitch } from '../../src/config.js';

export const SERVER_JSON_SCHEMA = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  name: string;
  version: string;
  description: string;
  mcpName: string;
}

export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;
}

interface EnvironmentVariable {
  name: string;
  description: string;
  isRequired?: boolean;
  isSecret?: boolean;
  format?: 'string' | 'number' | 'boolean' | 'filepath';
  default?: string;
  choices?: string[];
}

function environmentVariables(): EnvironmentVariable[] {
  // The package runs over stdio, so the HTTP transport's settings do not apply to it.
  const fromSchema = Object.entries(configSchema.shape)
    .filter(([key]) => !['transport', 'host', 'port'].includes(key))
    .map(([key, schema]): EnvironmentVariable => {
    const json = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as { enum?: string[]; type?: string; default?: unknown };
    const fallback = (schema as z.ZodType).safeParse(undefined);
    // A default that depends on the machine (the home directory) is described, not given.
    const shownDefault = fallback.success && fallback.data !== undefined && !String(fallback.data).startsWith('/') ? String(fallback.data) : undefined;
    return {
      name: envName(key),
      description: schema.description ?? '',
      ...(isSwitch(key) ? { format: 'boolean' as const } : json.type === 'integer' || json.type === 'number' ? { format: 'number' as const } : key.endsWith('Dir') || key === 'auditLog' ? { format: 'filepath' as const } : {}),
      ...(shownDefault !== undefined && { default: shownDefault }),
      ...(json.enum && { choices: json.enum }),
    };
  });
  return [
    ...fromSchema,
    { name: 'AWS_PROFILE', description: 'AWS profile of the shared config and credentials files (backend aws)' },
    { name: 'AWS_REGION', description: 'AWS region of the HealthImaging datastores (backend aws)' },
  ];
}

export function serverJson(): string {
  const pkg = packageJson();
  const document = {
    $schema: SERVER_JSON_SCHEMA,
    name: pkg.mcpName,
    description: 'Search, inspect, view and curate medical images in AWS HealthImaging (or an embedded local service)',
    version: pkg.version,
    packages: [
      {
        registryType: 'npm',
        registryBaseUrl: 'https://registry.npmjs.org',
        identifier: pkg.name,
        version: pkg.version,
        runtimeHint: 'npx',
        transport: { type: 'stdio' },
        environmentVariables: environmentVariables(),
      },
    ],
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
