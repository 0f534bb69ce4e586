/**
 * Worker thread of the import conversion pool (convert-pool.ts): parses a P10 file and prepares its frames for
 * storage (decode, HTJ2K encode, checksum), the CPU-bound part of an import, off the service's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { prepareFrames } from '../dicom/frames.js';
import { parseP10 } from '../dicom/p10.js';
import type { ConvertReply, ConvertRequest } from './convert-pool.js';

const port = parentPort;
if (!port) throw new Error('convert-worker.ts runs only as a worker thread');

port.on('message', (request: ConvertRequest) => {
  void convert(request).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (err: unknown) => {
      const error = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { name: 'Error', message: String(err) };
      port.postMessage({ id: request.id, ok: false, error } satisfies ConvertReply);
    },
  );
});

async function convert(request: ConvertRequest): Promise<{ reply: ConvertReply; transfer: ArrayBuffer[] }> {
  const parsed = parseP10(new Uint8Array(request.bytes));
  const prepared = await prepareFrames(parsed, { losslessFormat: request.losslessFormat });
  const { frameData: _pixels, ...metadata } = parsed;
  // A frame that owns its whole buffer goes back without a copy; a view into a larger one (the input file, a
  // codec's memory) is copied, so that nothing else is detached.
  const frames = prepared.frames.map((f) => (f.bytes.byteOffset === 0 && f.bytes.byteLength === f.bytes.buffer.byteLength ? f : { ...f, bytes: f.bytes.slice() }));
  const transfer = [...new Set(frames.map((f) => f.bytes.buffer as ArrayBuffer))];
  return { reply: { id: request.id, ok: true, parsed: metadata, prepared: { ...prepared, frames } }, transfer };
}
