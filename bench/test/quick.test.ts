/**
 * CI runs the quick benchmark (`npm run bench:quick`) and fails when one of its ratio or correctness checks
 * fails: ratios of two things measured in the same run hold on any machine, absolute times do not.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { failsGate, type Report } from '../lib/report.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = mkdtempSync(path.join(os.tmpdir(), 'himcp-bench-results-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench:quick', () => {
  it('runs every case against its peer, and every ratio and correctness check passes', async () => {
    const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
    const result = await run(process.execPath, [tsx, 'bench/run.ts', '--quick', '--out', out], { cwd: root, timeout: 450_000, maxBuffer: 16 * 1024 * 1024 }).catch(
      (err: { code?: number; stderr?: string }) => ({ stderr: err.stderr ?? '', code: err.code }),
    );
    const report = JSON.parse(readFileSync(path.join(out, 'quick.json'), 'utf8')) as Report;
    const gated = report.rows.filter((r) => r.gate);
    const failed = gated.filter(failsGate).map((r) => `case ${r.case} ${r.measure}: ratio ${r.ratio?.toFixed(2)} (${r.knownMiss ? `guard ${r.guard?.target}` : r.target})`);
    expect(failed, result.stderr).toEqual([]);
    expect(gated.length).toBeGreaterThan(0);
    expect(report.rows.filter((r) => r.measure.startsWith('crashed')).map((r) => r.measure)).toEqual([]);
    expect(new Set(report.rows.map((r) => r.case))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
    expect('code' in result ? result.code : 0).toBe(0);
  });
});
