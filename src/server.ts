/**
 * createServer(config, deps) → { server, close }: one MCP server with the HealthImaging tools and resources. Transports
 * (stdio, Streamable HTTP) are thin modules around it; over HTTP each session gets its own server.
 */
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type Config, writesEnabled } from './config.js';
import { AuditLog } from './guard/audit.js';
import { confineToDatastores } from './guard/datastores.js';
import { FileAccess } from './guard/paths.js';
import { processMasker, redactingClient } from './guard/redaction.js';
import { type ConfirmationTokens, sharedConfirmationTokens } from './guard/tokens.js';
import { registerMetadataResources } from './resources/metadata.js';
import { registerCurationPrompt } from './prompts/curate.js';
import { ALL_TOOLS } from './tools/index.js';
import { registerTools } from './tools/registry.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

export interface ServerDeps {
  /** A HealthImaging client for the configured backend (AWS, or the local service over HTTP). */
  client: MedicalImagingClient;
  /** Human-readable backend description for the instructions, e.g. "the embedded local service (demo data)". */
  backendDescription: string;
  /** Where write attempts are recorded; default: stderr plus `--audit-log`. Create it once per process and share it. */
  audit?: AuditLog;
  /** Confirmation tokens; default: the issuer all sessions of this process share. */
  tokens?: ConfirmationTokens;
}

export interface ServerHandle {
  server: McpServer;
  close(): Promise<void>;
}

export function instructions(config: Config, backendDescription: string): string {
  const confirmation = {
    elicit: ' Deletions, untagging, forced updates and copies, reverts and whole-instance removals need the user\'s confirmation in a dialog of the client.',
    token:
      ' Deletions, untagging, forced updates and copies, reverts and whole-instance removals need the user\'s confirmation: a dialog where the client can show one, ' +
      'otherwise a preview with a confirmation_token; show the preview to the user and pass the token, with the same arguments, only once they agree.',
    none: '',
  }[config.confirmMode];
  const writes = writesEnabled(config)
    ? 'Write tools are enabled: they change data, some irreversibly; read the current state first and pass latest_version_id where asked. ' +
      `update_image_set_metadata with dry_run=true previews a change as a diff.${confirmation}`
    : 'The server is read-only: tools that change data are not available (the operator enables them with --allow-write).';
  return [
    `AWS HealthImaging through ${backendDescription}.`,
    'Typical flow: list_datastores → search_image_sets (filters by patient, study, series, dates) → get_image_set_metadata (a compact summary with frame IDs; the full document is a resource) → get_contact_sheet / get_image_frame (images you can look at).',
    'To correct metadata: inspect and look first, check get_image_set for the latest version, preview with update_image_set_metadata dry_run: true, apply (the user confirms destructive changes), then verify with compare_image_set_versions. The curate_image_set prompt spells this out.',
    'IDs are 32 lowercase hex characters; pass them exactly as returned. Lists page with next_token.',
    ...(config.datastoreIds ? [`Only these datastores may be used: ${config.datastoreIds.join(', ')}.`] : []),
    ...(config.redactPhi
      ? ['PHI is redacted: patient names, IDs, birth dates, addresses, accession numbers and private tags show as [redacted <pseudonym>] (equal values, equal pseudonyms); searching by a pseudonym finds nothing. Pixel data is not redacted.']
      : []),
    writes,
  ].join('\n');
}

export function createServer(config: Config, deps: ServerDeps): ServerHandle {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'AWS HealthImaging' },
    { instructions: instructions(config, deps.backendDescription) },
  );
  // Confined here, where every tool, resource and completion of this server gets its client.
  const confined = config.datastoreIds ? confineToDatastores(deps.client, config.datastoreIds) : deps.client;
  // PHI is masked as it arrives, before any tool, resource or preview sees it.
  const client = config.redactPhi ? redactingClient(confined, processMasker(), { maxMetadataBytes: config.maxMetadataBytes }) : confined;
  // The client's roots name directories of this machine only when it runs here (stdio).
  const roots = async () => {
    if (!server.server.getClientCapabilities()?.roots) return [];
    const { roots } = await server.server.listRoots(undefined, { timeout: 10_000 });
    return roots.map((root) => root.uri);
  };
  const files = new FileAccess(config.allowDir, config.transport === 'stdio' ? roots : undefined);
  registerTools(server, ALL_TOOLS, { client, config, files, audit: deps.audit ?? AuditLog.fromConfig(config), tokens: deps.tokens ?? sharedConfirmationTokens() });
  registerMetadataResources(server, { client, maxMetadataBytes: config.maxMetadataBytes, redactPhi: config.redactPhi });
  registerCurationPrompt(server);
  return {
    server,
    close: () => server.close(),
  };
}
