/**
 * A small pool of worker threads that convert imported files (parse, decode, HTJ2K encode): encoding is most of
 * an import's CPU time, and on the main thread it would use one core and delay every other request of the service.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DicomParseError } from '../dicom/errors.js';
import type { LosslessStorageFormat, ParsedInstance, PreparedFrames } from '../dicom/types.js';

export interface ConvertRequest {
  id: number;
  bytes: ArrayBuffer;
  losslessFormat: LosslessStorageFormat;
}

export type ConvertReply =
  | { id: number; ok: true; parsed: Omit<ParsedInstance, 'frameData'>; prepared: PreparedFrames }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

export interface Converted {
  parsed: Omit<ParsedInstance, 'frameData'>;
  prepared: PreparedFrames;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, { resolve: (value: Converted) => void; reject: (err: Error) => void }>;
}

/**
 * A worker running the compiled entry next to this module; or, running from the TypeScript sources (the tests, tsx),
 * a worker that first registers tsx and then imports the .ts entry.
 */
function startWorker(): Worker {
  const compiled = new URL('./convert-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled);
  const source = new URL('./convert-worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`, { eval: true });
}

export class ConvertPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size = Math.max(1, Math.min(4, os.availableParallelism()))) {}

  /** Parses `bytes` (a P10 file, handed over to the worker: do not use it afterwards) and prepares its frames. */
  convert(bytes: Uint8Array, losslessFormat: LosslessStorageFormat): Promise<Converted> {
    if (this.closed) return Promise.reject(new Error('the conversion pool is closed'));
    const target = this.pick();
    const id = this.nextId++;
    // Transfer the file's memory when it is exactly one buffer, else copy the view.
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
    return new Promise<Converted>((resolve, reject) => {
      target.pending.set(id, { resolve, reject });
      target.worker.ref();
      target.worker.postMessage({ id, bytes: buffer, losslessFormat } satisfies ConvertRequest, [buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  /** The least busy worker, starting one while the pool is not full. */
  private pick(): PoolWorker {
    const idle = this.workers.find((w) => w.pending.size === 0);
    if (idle) return idle;
    if (this.workers.length < this.size) return this.spawn();
    return this.workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private spawn(): PoolWorker {
    const worker = startWorker();
    const entry: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: ConvertReply) => {
      const waiter = entry.pending.get(reply.id);
      if (!waiter) return;
      entry.pending.delete(reply.id);
      if (entry.pending.size === 0) worker.unref();
      if (reply.ok) {
        waiter.resolve({ parsed: reply.parsed, prepared: reply.prepared });
        return;
      }
      // DicomParseError is the input's fault (a ValidationException line); anything else is the service's.
      const err = reply.error.name === 'DicomParseError' ? new DicomParseError(reply.error.message) : Object.assign(new Error(reply.error.message), { name: reply.error.name });
      if (reply.error.stack && !(err instanceof DicomParseError)) err.stack = reply.error.stack;
      waiter.reject(err);
    });
    const fail = (err: Error) => {
      const index = this.workers.indexOf(entry);
      if (index >= 0) this.workers.splice(index, 1);
      for (const waiter of entry.pending.values()) waiter.reject(err);
      entry.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the conversion worker exited with code ${code}`)));
    worker.unref();
    this.workers.push(entry);
    return entry;
  }
}
