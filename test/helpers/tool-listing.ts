/** Every tool as tools/list shows it, from a server with writes enabled. No backend call is made. */
import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../src/config.js';
import { createServer } from '../../src/server.js';

export async function listedTools(flags: Record<string, string | boolean> = { allowWrite: true }): Promise<Tool[]> {
  const config = loadConfig({ backend: 'aws', region: 'us-east-1', ...flags }, {});
  const sdk = new MedicalImagingClient({ region: 'us-east-1', credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } });
  const handle = createServer(config, { client: sdk, backendDescription: 'nothing' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'schemas', version: '0' });
  await Promise.all([handle.server.connect(b), client.connect(a)]);
  const { tools } = await client.listTools();
  await client.close();
  await handle.close();
  sdk.destroy();
  return tools;
}
