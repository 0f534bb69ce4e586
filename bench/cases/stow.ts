/**
 * Case 4: STOW-RS of a large multipart store (200 files of ≈ 1 MB; quick: 40) through `store_dicom` (the MCP server
 * over HTTP, its own process, reading the files from an allowed directory and streaming them signed) vs `curl
 * --aws-sigv4` posting the same files, as one multipart body built beforehand, with the AWS documentation's
 * command, to the same local endpoint. Each store goes into a fresh datastore, so neither side meets the other's
 * instances; the two sides take turns going first. The MCP server's peak RSS growth during its stores is read from
 * /proc.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { DOC_CURL } from '../../test/helpers/stow-curl.js';
import { createDatastore, stowFiles } from '../lib/data.js';
import type { BenchEnv } from '../lib/env.js';
import { connectHttp, memoryOf, REGION, resetPeak, sdkFor, startLocal, startMcpHttp } from '../lib/procs.js';
import { pairedRatio, stats } from '../lib/stats.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
const MIN_THROUGHPUT_RATIO = 0.8;
const MAX_GROWTH_MB = 64;

export async function stow(env: BenchEnv): Promise<void> {
  const count = env.mode === 'quick' ? 40 : 200;
  const { dir, names, bytes } = await stowFiles(count, env.log);
  const local = await startLocal(path.join(env.tmp, 'stow-service'));
  const sdk = sdkFor(local);
  const server = await startMcpHttp(local, ['--allow-write', '--confirm-mode', 'none', '--allow-dir', dir]);
  const client = await connectHttp(server.url);
  env.onClose(async () => {
    await client.close();
    await server.stop();
    sdk.destroy();
    await local.kill('SIGTERM');
  });

  const boundary = `BenchBoundary${Date.now()}`;
  const body = path.join(env.tmp, 'stow-body.multipart');
  await multipartBody(body, dir, names, boundary);
  const curlEnv = {
    ...process.env,
    ENDPOINT: local.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: local.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: local.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: '',
    CONTENT_TYPE: `multipart/related; type="application/dicom"; boundary=${boundary}`,
    FILENAME: body,
  };

  const viaMcp = async (datastoreId: string) => {
    const result = (await client.callTool({ name: 'store_dicom', arguments: { datastore_id: datastoreId, paths: names } }, CallToolResultSchema, {
      timeout: 30 * 60_000,
    })) as CallToolResult;
    const stored = (result.structuredContent as { stored_count?: number } | undefined)?.stored_count;
    if (result.isError || stored !== count) throw new Error(`store_dicom stored ${stored} of ${count}: ${JSON.stringify(result.content).slice(0, 300)}`);
  };
  const viaCurl = async (datastoreId: string) => {
    const { stdout } = await run('bash', ['-c', DOC_CURL], { env: { ...curlEnv, DATASTORE_ID: datastoreId }, timeout: 30 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    const status = stdout.trimEnd().split('\n').pop();
    if (status !== '200') throw new Error(`curl STOW-RS answered HTTP ${status}: ${stdout.slice(0, 300)}`);
  };

  // Untimed: one store each, so that both sides start warm.
  await viaMcp(await createDatastore(sdk, 'stow-warm-mcp'));
  await viaCurl(await createDatastore(sdk, 'stow-warm-curl'));
  // One store of 40 files varies by ±10% on a busy 2-core machine, and the quick run gates on the ratio: four pairs,
  // as many as the service's quota of 10 datastores allows after the two warm-up stores.
  const pairs = env.mode === 'quick' ? 4 : 3;
  const ours: number[] = [];
  const peer: number[] = [];
  let growth: number | undefined = 0;
  const timed = async (fn: () => Promise<void>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  for (let i = 0; i < pairs; i++) {
    const [forMcp, forCurl] = [await createDatastore(sdk, `stow-mcp-${i}`), await createDatastore(sdk, `stow-curl-${i}`)];
    const mcpStore = async () => {
      const canReset = resetPeak(server.pid);
      const before = memoryOf(server.pid).rss;
      ours.push(await timed(() => viaMcp(forMcp)));
      growth = canReset && growth !== undefined ? Math.max(growth, memoryOf(server.pid).peak - before) : undefined;
    };
    const curlStore = async () => void peer.push(await timed(() => viaCurl(forCurl)));
    // Each side goes first in turn, so that neither always meets the machine as the other left it.
    if (i % 2 === 0) {
      await mcpStore();
      await curlStore();
    } else {
      await curlStore();
      await mcpStore();
    }
  }

  const throughput = (ms: number[]) => bytes / MB / (stats(ms).median / 1000);
  const ratio = 1 / pairedRatio(ours, peer);
  const label = `${count} files, ${(bytes / MB).toFixed(0)} MB; the service's HTJ2K encoding included on both sides`;
  env.add({
    case: 4,
    measure: 'store_dicom over HTTP, STOW-RS throughput',
    unit: 'MB/s',
    ours: { value: throughput(ours) },
    peer: { name: 'curl --aws-sigv4 --upload-file, the same files as one multipart body', result: { value: throughput(peer) } },
    ratio,
    target: `≥ ${MIN_THROUGHPUT_RATIO}× curl's throughput`,
    check: 'ratio',
    pass: ratio >= MIN_THROUGHPUT_RATIO,
    note: `${label}; ratio = curl's time ÷ ours (median of ${pairs} pairs)`,
  });
  if (growth === undefined) {
    env.add({ case: 4, measure: 'MCP server peak RSS growth, store_dicom', unit: 'MB', ours: { value: Number.NaN }, note: 'peak RSS cannot be reset on this system (/proc/<pid>/clear_refs)' });
    return;
  }
  env.add({
    case: 4,
    measure: 'MCP server peak RSS growth, store_dicom',
    unit: 'MB',
    ours: { value: growth / MB },
    target: `≤ ${MAX_GROWTH_MB} MB`,
    // Streaming bounds the growth whatever the machine, so every run checks it.
    check: 'ratio',
    pass: growth <= MAX_GROWTH_MB * MB,
    note: `the payload is ${(bytes / MB).toFixed(0)} MB`,
  });
}

/** The multipart/related body the documentation's shell script builds: each file as one application/dicom part. */
async function multipartBody(file: string, dir: string, names: string[], boundary: string): Promise<void> {
  const out = createWriteStream(file);
  for (const name of names) {
    out.write(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
    out.write(await fs.readFile(path.join(dir, name)));
    if (!out.write('\r\n')) await once(out, 'drain');
  }
  out.end(`--${boundary}--\r\n`);
  await finished(out);
}
