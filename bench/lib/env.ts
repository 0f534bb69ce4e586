/** What the cases share: the run's options, the report rows, and services started once and stopped at the end. */
import { AuditLog } from '../../src/guard/audit.js';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { loadConfig } from '../../src/config.js';
import { createServer } from '../../src/server.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { catalog, type CatalogManifest, frameSets, type FramesManifest } from './data.js';
import { REGION, sdkFor, startLocal, startMcpHttp, type McpHttpServer, type SpawnedService } from './procs.js';
import type { Row } from './report.js';

export interface Sizes {
  catalogImageSets: number;
  bigInstances: number;
  importInstances: number;
  /** Iterations of the fast timed loops (searches, tool calls). */
  iterations: number;
  loadCallsPerSession: number;
}

export const QUICK: Sizes = { catalogImageSets: 1000, bigInstances: 1000, importInstances: 100, iterations: 200, loadCallsPerSession: 50 };
export const FULL: Sizes = { catalogImageSets: 10_000, bigInstances: 5000, importInstances: 500, iterations: 1000, loadCallsPerSession: 200 };

export interface Backend<M> {
  local: SpawnedService;
  sdk: MedicalImagingClient;
  manifest: M;
  dataDir: string;
}

export class BenchEnv {
  readonly rows: Row[] = [];
  readonly skipped: Array<{ case: number; reason: string }> = [];
  private readonly closers: Array<() => Promise<void>> = [];
  private catalogBackend?: Promise<Backend<CatalogManifest>>;
  private framesBackend?: Promise<Backend<FramesManifest>>;
  private catalogMcp?: Promise<McpHttpServer>;

  constructor(
    readonly mode: 'quick' | 'full',
    readonly sizes: Sizes,
    readonly tmp: string,
    readonly log: (message: string) => void,
  ) {}

  add(row: Row): void {
    this.rows.push(row);
    const verdict = row.pass === undefined ? '' : row.pass ? ' pass' : ' FAIL';
    const value = 'value' in row.ours ? row.ours.value.toFixed(2) : `median ${row.ours.median.toFixed(2)} p95 ${row.ours.p95.toFixed(2)}`;
    this.log(`  case ${row.case} ${row.measure}: ${value} ${row.unit}${row.ratio === undefined ? '' : `, ratio ${row.ratio.toFixed(2)}`}${row.note ? ` (${row.note})` : ''}${verdict}`);
  }

  skip(caseNo: number, reason: string): void {
    this.skipped.push({ case: caseNo, reason });
    this.log(`  case ${caseNo} skipped: ${reason}`);
  }

  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  private async backend<M>(build: Promise<{ dataDir: string; manifest: M }>): Promise<Backend<M>> {
    const { dataDir, manifest } = await build;
    const local = await startLocal(dataDir);
    const sdk = sdkFor(local);
    this.onClose(async () => {
      sdk.destroy();
      await local.kill('SIGTERM');
    });
    return { local, sdk, manifest, dataDir };
  }

  /** The catalog datastore (many image sets and one big one), served by a durable local service process. */
  catalog(): Promise<Backend<CatalogManifest>> {
    return (this.catalogBackend ??= this.backend(catalog(this.sizes.catalogImageSets, this.sizes.bigInstances, this.log)));
  }

  frames(): Promise<Backend<FramesManifest>> {
    return (this.framesBackend ??= this.backend(frameSets([512, 2048], this.log)));
  }

  /** The MCP server over HTTP (its own process) on the catalog. */
  catalogMcpHttp(): Promise<McpHttpServer> {
    return (this.catalogMcp ??= this.catalog().then(async ({ local }) => {
      const server = await startMcpHttp(local, ['--read-only']);
      this.onClose(server.stop);
      return server;
    }));
  }

  /** The MCP server in this process, with a real MCP client connected in memory. */
  async inMemoryMcp(local: SpawnedService): Promise<Client> {
    const config = loadConfig({ backend: 'aws', region: REGION, endpointUrl: local.endpoint, readOnly: true }, {});
    const sdk = createMedicalImagingClient(config, { endpoint: local.endpoint, credentials: local.credentials });
    const handle = createServer(config, { client: sdk, backendDescription: 'the benchmark local service', audit: new AuditLog([() => undefined]) });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'bench', version: '0' });
    await Promise.all([handle.server.connect(serverSide), client.connect(clientSide)]);
    this.onClose(async () => {
      await client.close();
      await handle.close();
      sdk.destroy();
    });
    return client;
  }

  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch((err: unknown) => this.log(`cleanup failed: ${String(err)}`));
  }
}
