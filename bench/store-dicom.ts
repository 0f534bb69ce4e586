/**
 * Peak memory of the MCP server while store_dicom sends a large multipart STOW-RS request: 200 files of about 1 MB
 * (≈ 200 MB) are written to a temporary directory, the local service runs as a child process (its memory is its
 * own), and the MCP server and client run here, so the RSS sampled here is the client side's: file checks, the
 * streamed multipart body, signing and progress notifications. The files must stream, not be buffered: the RSS may
 * grow by one file's worth, not by the payload.
 *
 *   npm run build && node --expose-gc --import tsx bench/store-dicom.ts [files] [rows]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateDatastoreCommand, GetDatastoreCommand } from '@aws-sdk/client-medical-imaging';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createMedicalImagingClient } from '../src/aws/client.js';
import { loadConfig } from '../src/config.js';
import { AuditLog } from '../src/guard/audit.js';
import { createServer } from '../src/server.js';
import { syntheticCtSeries } from '../src/dicom/synthetic.js';
import { spawnLocalService } from '../test/helpers/spawn.js';

const FILES = Number(process.argv[2] === '--generate' ? 0 : (process.argv[2] ?? 200));
const ROWS = Number(process.argv[3] ?? 724); // 724 × 724 × 2 bytes ≈ 1 MB of pixel data
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;

if (process.argv[2] === '--generate') {
  // In a child process, so that generating the files does not inflate the RSS measured below.
  const [dir, count, rows] = [process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])];
  // Written in batches so that the generated series is not all in memory at once.
  for (let start = 0; start < count; start += 20) {
    const batch = syntheticCtSeries({ patientName: 'BENCH^STORE', patientId: 'BENCH-STORE', slices: Math.min(20, count - start), rows, columns: rows, seed: start + 1 });
    for (const [i, bytes] of batch.entries()) await fs.writeFile(path.join(dir, `${String(start + i).padStart(4, '0')}.dcm`), bytes);
  }
  process.exit(0);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'himcp-bench-store-'));
const files = path.join(work, 'files');
await fs.mkdir(files);
execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--generate', files, String(FILES), String(ROWS)], { stdio: 'inherit' });
let payload = 0;
for (const name of await fs.readdir(files)) payload += (await fs.stat(path.join(files, name))).size;

const local = await spawnLocalService(path.join(work, 'data'));
const config = loadConfig({ backend: 'aws', region: 'us-east-1', allowWrite: true, confirmMode: 'none', allowDir: files }, {});
const sdk = createMedicalImagingClient(config, { endpoint: local.endpoint, credentials: local.credentials });
const { datastoreId } = await sdk.send(new CreateDatastoreCommand({ datastoreName: 'bench' }));
while ((await sdk.send(new GetDatastoreCommand({ datastoreId }))).datastoreProperties?.datastoreStatus !== 'ACTIVE') await new Promise((r) => setTimeout(r, 50));
const handle = createServer(config, { client: sdk, backendDescription: 'bench', audit: new AuditLog([]) });
const [a, b] = InMemoryTransport.createLinkedPair();
const client = new Client({ name: 'bench', version: '0' });
await Promise.all([handle.server.connect(b), client.connect(a)]);

gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
let notifications = 0;
const started = performance.now();
const result = (await client.callTool(
  { name: 'store_dicom', arguments: { datastore_id: datastoreId, paths: (await fs.readdir(files)).sort() } },
  CallToolResultSchema,
  { onprogress: () => notifications++, timeout: 30 * 60_000 },
)) as CallToolResult;
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);

const text = (result.content[0] as { text: string }).text.split('\n')[0];
process.stdout.write(
  [
    `store_dicom of ${FILES} files, ${mb(payload)} in all (largest file ${mb(payload / FILES)}): ${result.isError ? 'FAILED' : 'ok'}: ${text}`,
    `time ${seconds.toFixed(1)} s (${mb(payload / seconds)}/s, the local service encoding HTJ2K included), ${notifications} progress notifications`,
    `MCP side RSS: baseline ${mb(baseline)}, peak ${mb(peak)}, growth ${mb(peak - baseline)} (${((100 * (peak - baseline)) / payload).toFixed(1)}% of the payload)`,
  ].join('\n') + '\n',
);

await client.close();
await handle.close();
sdk.destroy();
await local.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
process.exit(result.isError || peak - baseline > 64 * 1024 * 1024 ? 1 : 0);
