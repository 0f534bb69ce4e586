/**
 * Everything generated from the code is up to date (run `npm run docs` after changing tools, options or the version),
 * and server.json is an entry the MCP Registry accepts for this package.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema, envName } from '../../src/config.js';
import { GENERATED_DOCS } from '../helpers/generated-docs.js';
import { packageJson, SERVER_JSON_SCHEMA } from '../helpers/server-json.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('generated documents', () => {
  it.each(Object.keys(GENERATED_DOCS))('%s is up to date', async (relative) => {
    const current = readFileSync(path.join(root, relative), 'utf8');
    expect(await GENERATED_DOCS[relative]!(current)).toBe(current);
  });
});

describe('server.json', () => {
  const server = JSON.parse(readFileSync(path.join(root, 'server.json'), 'utf8')) as {
    $schema: string;
    name: string;
    description: string;
    version: string;
    packages: Array<{ registryType: string; identifier: string; version: string; transport: { type: string }; environmentVariables: Array<{ name: string; choices?: string[]; default?: string }> }>;
  };
  const pkg = packageJson();

  it('names the package the registry will fetch, at its version, with a matching mcpName', () => {
    expect(server.$schema).toBe(SERVER_JSON_SCHEMA);
    // Registry rules: reverse-DNS name with one slash, description of at most 100 characters, an exact version.
    expect(server.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    expect(server.name).toBe(pkg.mcpName);
    expect(server.description.length).toBeLessThanOrEqual(100);
    expect(server.version).toBe(pkg.version);
    expect(server.packages).toEqual([expect.objectContaining({ registryType: 'npm', identifier: pkg.name, version: pkg.version, transport: { type: 'stdio' } })]);
  });

  it('lists environment variables the server really reads, with valid defaults and choices', () => {
    const known = new Set(Object.keys(configSchema.shape).map(envName));
    for (const variable of server.packages[0]!.environmentVariables) {
      if (!variable.name.startsWith('HEALTHIMAGING_MCP_')) continue;
      expect(known.has(variable.name), variable.name).toBe(true);
      if (variable.default !== undefined && variable.choices) expect(variable.choices).toContain(variable.default);
    }
    expect(server.packages[0]!.environmentVariables.map((v) => v.name)).toEqual(expect.arrayContaining(['HEALTHIMAGING_MCP_BACKEND', 'HEALTHIMAGING_MCP_ALLOW_WRITE', 'AWS_REGION']));
  });
});
