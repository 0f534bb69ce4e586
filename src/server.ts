/**
 * createServer(config, deps) → { server, close }: one MCP server with the HealthImaging tools and resources. Transports
 * (stdio, Streamable HTTP) are thin modules around it; over HTTP each session gets its own server.
 */
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Config } from './config.js';
import { registerMetadataResources } from './resources/metadata.js';
import { ALL_TOOLS } from './tools/index.js';
import { registerTools } from './tools/registry.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

export interface ServerDeps {
  /** A HealthImaging client for the configured backend (AWS, or the local service over HTTP). */
  client: MedicalImagingClient;
  /** Human-readable backend description for the instructions, e.g. "the embedded local service (demo data)". */
  backendDescription: string;
}

export interface ServerHandle {
  server: McpServer;
  close(): Promise<void>;
}

export function instructions(config: Config, backendDescription: string): string {
  const writes = config.allowWrite
    ? 'Write tools are enabled: they change data, some irreversibly; read the current state first and pass latest_version_id where asked.'
    : 'The server is read-only: tools that change data are not available (the operator enables them with --allow-write).';
  return [
    `AWS HealthImaging through ${backendDescription}.`,
    'Typical flow: list_datastores → search_image_sets (filters by patient, study, series, dates) → get_image_set_metadata (a compact summary with frame IDs; the full document is a resource) → get_image_frame.',
    'IDs are 32 lowercase hex characters; pass them exactly as returned. Lists page with next_token.',
    writes,
  ].join('\n');
}

export function createServer(config: Config, deps: ServerDeps): ServerHandle {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'AWS HealthImaging' },
    { instructions: instructions(config, deps.backendDescription) },
  );
  registerTools(server, ALL_TOOLS, { client: deps.client, config });
  registerMetadataResources(server, { client: deps.client, maxMetadataBytes: config.maxMetadataBytes });
  return {
    server,
    close: () => server.close(),
  };
}
