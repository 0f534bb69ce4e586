/**
 * The benchmarks: every case measured side by side with its peer in the same run.
 *
 *   npm run bench          full sizes; writes bench/results/full.json and the table in bench/README.md
 *   npm run bench:quick    smaller sizes (< 3 min); writes bench/results/quick.json
 *
 * Options: --quick, --cases 1,3 (a subset), --out DIR (where the JSON goes), --no-readme.
 * Exit status 1 when a ratio or correctness check fails (and, in the full run, when a bound is missed); a row that
 * records a known miss fails only when it also breaks its looser guard.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bigMetadata } from './cases/metadata.js';
import { frames } from './cases/frames.js';
import { imports } from './cases/imports.js';
import { load } from './cases/load.js';
import { toolCallOverhead } from './cases/overhead.js';
import { search } from './cases/search.js';
import { stow } from './cases/stow.js';
import { BENCH_DIR } from './lib/data.js';
import { BenchEnv, FULL, QUICK } from './lib/env.js';
import { failsGate, machine, type Report, table } from './lib/report.js';

const CASES: Record<number, (env: BenchEnv) => Promise<void>> = {
  1: toolCallOverhead,
  2: bigMetadata,
  3: frames,
  4: stow,
  5: imports,
  6: search,
  7: load,
};

const README_START = '<!-- bench:start -->';
const README_END = '<!-- bench:end -->';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, cases: { type: 'string' }, out: { type: 'string' }, 'no-readme': { type: 'boolean', default: false } },
  });
  const mode = values.quick ? 'quick' : 'full';
  const wanted = values.cases ? values.cases.split(',').map(Number) : [1, 2, 3, 4, 5, 6, 7];
  const outDir = path.resolve(values.out ?? path.join(BENCH_DIR, 'results'));
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'himcp-bench-'));
  const env = new BenchEnv(mode, mode === 'quick' ? QUICK : FULL, tmp, log);
  const started = performance.now();
  let crashed = 0;
  try {
    for (const n of wanted) {
      const run = CASES[n];
      if (!run) {
        env.skip(n, 'no such case');
        continue;
      }
      log(`case ${n}…`);
      try {
        await run(env);
      } catch (err) {
        crashed++;
        env.add({ case: n, measure: `crashed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300), unit: '', ours: { value: Number.NaN }, check: 'must', pass: false });
        log(err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
    }
  } finally {
    await env.close();
    rmSync(tmp, { recursive: true, force: true });
  }

  for (const row of env.rows) {
    row.gate = row.check !== undefined && (!row.knownMiss || row.guard !== undefined) && (row.check === 'ratio' || row.check === 'must' || mode === 'full');
  }
  const report: Report = { mode, date: new Date().toISOString(), machine: machine(), durationSeconds: (performance.now() - started) / 1000, rows: env.rows, skipped: env.skipped };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `${mode}.json`), `${JSON.stringify(report, null, 2)}\n`);
  if (mode === 'full' && !values['no-readme'] && !values.cases) {
    const file = path.join(BENCH_DIR, 'README.md');
    const readme = readFileSync(file, 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    if (start < 0 || end < start) throw new Error(`${file} lacks the ${README_START} … ${README_END} markers`);
    writeFileSync(file, `${readme.slice(0, start + README_START.length)}\n${table(report)}\n${readme.slice(end)}`);
  }
  log(`\n${table(report)}\n`);
  const failed = env.rows.filter(failsGate);
  log(failed.length === 0 ? `bench ${mode}: all checks passed (${report.durationSeconds.toFixed(0)} s)` : `bench ${mode}: ${failed.length} check(s) failed: ${failed.map((r) => `case ${r.case} ${r.measure}`).join('; ')}`);
  return failed.length === 0 && crashed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
