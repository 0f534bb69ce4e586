/** One measured line of the benchmark report, and the report itself (JSON and the README table). */
import os from 'node:os';
import type { Stats } from './stats.js';

export interface Row {
  case: number;
  measure: string;
  unit: string;
  /** Ours: timing statistics, or a single value (throughput, bytes). */
  ours: Stats | { value: number };
  peer?: { name: string; result: Stats | { value: number } };
  /** ours ÷ peer (of medians or values); what it means is said in `target`. */
  ratio?: number;
  target?: string;
  /**
   * ratio: a ratio to a peer measured in the same run, or to the data's own size (every run fails on these);
   * must: correctness, such as zero errors (every run fails on these); bound: an absolute target (only the full
   * run fails on these: absolute times depend on the machine).
   */
  check?: 'ratio' | 'must' | 'bound';
  pass?: boolean;
  /**
   * A target this code is known to miss, with the reason (bench/README.md): reported as a miss. What the run then
   * checks is `guard`, a looser bound the row must still keep, so that a regression beyond the known miss fails.
   */
  knownMiss?: string;
  guard?: { target: string; pass: boolean };
  /** Whether a failed check fails this run (set by the runner from `check`, the mode and `knownMiss`). */
  gate?: boolean;
  note?: string;
}

export interface Report {
  mode: 'quick' | 'full';
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; platform: string; node: string };
  durationSeconds: number;
  rows: Row[];
  skipped: Array<{ case: number; reason: string }>;
}

export function machine(): Report['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

/** Whether a gated row fails its run: its check, or for a known miss its guard. */
export function failsGate(r: Row): boolean {
  if (!r.gate) return false;
  return r.knownMiss ? r.guard?.pass === false : r.pass === false;
}

function resultOf(r: Row): string {
  if (r.pass === undefined) return 'info';
  if (r.pass) return 'pass';
  if (!r.knownMiss) return '**FAIL**';
  if (r.guard?.pass === false) return `**FAIL**: beyond the known miss (${r.guard.target})`;
  return `**miss** (${r.knownMiss})${r.guard ? `; guard ${r.guard.target}: kept` : ''}`;
}

export const central = (r: Stats | { value: number }) => ('value' in r ? r.value : r.median);

const fmt = (x: number | undefined, unit = '') => {
  if (x === undefined || !Number.isFinite(x)) return '';
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return `${x.toFixed(digits)}${unit}`;
};

/** The README table (Markdown). */
export function table(report: Report): string {
  const m = report.machine;
  const lines = [
    `Run: \`npm run bench\` (${report.mode}) on ${report.date.slice(0, 16).replace('T', ' ')} UTC, ${report.durationSeconds.toFixed(0)} s; ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}; Node ${m.node}.`,
    '',
    '| Case | Measure | n | Median | p95 | Max | Peer | Peer median | Ratio | Target | Result |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of report.rows) {
    const o = r.ours;
    const stat = 'value' in o ? { n: '1', median: fmt(o.value), p95: '', max: '' } : { n: String(o.n), median: fmt(o.median), p95: fmt(o.p95), max: fmt(o.max) };
    const peer = r.peer ? r.peer.name : '';
    const peerMedian = r.peer ? fmt(central(r.peer.result)) : '';
    const result = resultOf(r);
    lines.push(
      `| ${r.case} | ${r.measure} (${r.unit})${r.note ? `<br>${r.note}` : ''} | ${stat.n} | ${stat.median} | ${stat.p95} | ${stat.max} | ${peer} | ${peerMedian} | ${r.ratio === undefined ? '' : `${fmt(r.ratio)}×`} | ${r.target ?? ''} | ${result} |`,
    );
  }
  for (const s of report.skipped) lines.push(`| ${s.case} | not measured: ${s.reason} | | | | | | | | | |`);
  return lines.join('\n');
}
