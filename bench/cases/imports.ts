/**
 * Case 5: the local service importing synthetic 512² CT instances (a durable service process, as users run it),
 * vs the bare HTJ2K encoding of the same frames in one thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { decodeFrame, encodeHtj2kLosslessRpcl } from '../../src/dicom/codecs.js';
import { parseP10 } from '../../src/dicom/p10.js';
import { syntheticCtSeries } from '../../src/dicom/synthetic.js';
import { createDatastore, importJob } from '../lib/data.js';
import type { BenchEnv } from '../lib/env.js';
import { sdkFor, startLocal } from '../lib/procs.js';

const MIN_RATE = 60;

export async function imports(env: BenchEnv): Promise<void> {
  const count = env.sizes.importInstances;
  const slices = syntheticCtSeries({ patientName: 'BENCH^IMPORT', patientId: 'BENCH-IMPORT', slices: count, rows: 512, columns: 512, seed: 5 });

  // The peer: encoding alone, one frame after another.
  const parsed = slices.map((p10) => parseP10(p10));
  const decoded = await Promise.all(parsed.map((p) => decodeFrame(p.frameData[0]!, p.transferSyntaxUID, p.geometry!)));
  await encodeHtj2kLosslessRpcl(decoded[0]!);
  let t = performance.now();
  for (const frame of decoded) await encodeHtj2kLosslessRpcl(frame);
  const encodeMs = performance.now() - t;

  const dataDir = mkdtempSync(path.join(env.tmp, 'import-'));
  const local = await startLocal(dataDir);
  const sdk = sdkFor(local);
  try {
    const datastoreId = await createDatastore(sdk, 'bench-import');
    // Warm up as the peer was: the service loads its codecs (in each conversion worker) on its first import.
    const warmup = syntheticCtSeries({ patientName: 'BENCH^WARMUP', patientId: 'BENCH-WARMUP', slices: 4, rows: 512, columns: 512, seed: 6 });
    await importJob(sdk, dataDir, datastoreId, Object.fromEntries(warmup.map((p10, i) => [`w${i}.dcm`, p10])));
    const files = Object.fromEntries(slices.map((p10, i) => [`${String(i).padStart(4, '0')}.dcm`, p10]));
    const importMs = await importJob(sdk, dataDir, datastoreId, files);
    const rate = count / (importMs / 1000);
    env.add({
      case: 5,
      measure: `import job, ${count} × 512² CT instances`,
      unit: 'instances/s',
      ours: { value: rate },
      peer: { name: 'bare HTJ2K encode, 1 thread', result: { value: count / (encodeMs / 1000) } },
      ratio: importMs / encodeMs,
      target: `≥ ${MIN_RATE} instances/s`,
      check: 'bound',
      pass: rate >= MIN_RATE,
      note: `ratio = import time ÷ encode time (${(importMs / 1000).toFixed(2)} s ÷ ${(encodeMs / 1000).toFixed(2)} s)`,
    });
  } finally {
    sdk.destroy();
    await local.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}
