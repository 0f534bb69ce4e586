/** A real MCP client connected in memory to the real server, backed by the real local service. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type AuditEntry, AuditLog } from '../../src/guard/audit.js';
import { createServer } from '../../src/server.js';
import { startTestService, type TestService } from './local.js';

export interface McpHarness {
  client: Client;
  local: TestService;
  config: Config;
  /** The audit log's entries, in order (the server writes them here instead of stderr). */
  audit: AuditEntry[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Collects audit entries instead of writing them to stderr. */
export function capturedAudit(): { audit: AuditLog; entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  return { audit: new AuditLog([(line) => entries.push(JSON.parse(line) as AuditEntry)]), entries };
}

export async function connectMcp(flags: Record<string, string | boolean> = {}, options: { local?: TestService; capabilities?: ConstructorParameters<typeof Client>[1] } = {}): Promise<McpHarness> {
  const local = options.local ?? (await startTestService({ seedDemo: true }));
  const config = loadConfig({ backend: 'aws', region: 'us-east-1', ...flags }, {});
  const sdk = createMedicalImagingClient(config, { endpoint: local.service.endpoint, credentials: local.service.credentials });
  const { audit, entries } = capturedAudit();
  const handle = createServer(config, { client: sdk, backendDescription: 'the local test service', audit });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '0' }, options.capabilities);
  await Promise.all([handle.server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    local,
    config,
    audit: entries,
    call: (name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>,
    async close() {
      await client.close();
      await handle.close();
      sdk.destroy();
      if (!options.local) await local.stop();
    },
  };
}

/** The text of a tool result's first block. */
export const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
