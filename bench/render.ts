/**
 * Timings of frame rendering (median of repeated runs) for a synthetic 16-bit CT slice at 512² and 2048²:
 * decoding the frame as HealthImaging serves it (HTJ2K), windowing alone, PNG encoding alone (the floor any
 * rendering pays), and the whole renderFrame.
 *
 *   npx tsx bench/render.ts
 */
import { decodeFrame, encodeHtj2kLosslessRpcl } from '../src/dicom/codecs.js';
import { parseP10 } from '../src/dicom/p10.js';
import { encodePng } from '../src/dicom/png.js';
import { rasterizeFrame, renderFrame } from '../src/dicom/render.js';
import { boxDownscale, fitWithin } from '../src/dicom/resize.js';
import { syntheticCtSeries } from '../src/dicom/synthetic.js';
import { TS } from '../src/dicom/types.js';

async function median(run: () => unknown, repeats = 21): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)]!;
}

const ms = (t: number) => `${t.toFixed(1)} ms`.padStart(9);
for (const size of [512, 2048]) {
  const parsed = parseP10(syntheticCtSeries({ patientName: 'BENCH^CT', patientId: 'BENCH', slices: 1, rows: size, columns: size, seed: 1 })[0]!);
  const attributes = { ...parsed.series, ...parsed.instance.DICOM };
  const native = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
  const htj2k = await encodeHtj2kLosslessRpcl(native);
  const decoded = await decodeFrame(htj2k, TS.htj2kLosslessRpcl, parsed.geometry!);
  const output = boxDownscale(rasterizeFrame(decoded, attributes).raster, fitWithin(decoded, 1024));
  const rendered = renderFrame(decoded, attributes);

  const decode = await median(() => decodeFrame(htj2k, TS.htj2kLosslessRpcl, parsed.geometry!));
  const window = await median(() => rasterizeFrame(decoded, attributes));
  const windowAuto = await median(() => rasterizeFrame(decoded, attributes, 'auto'));
  const encode = await median(() => encodePng(output));
  const render = await median(() => renderFrame(decoded, attributes));
  const rows = [
    [`HTJ2K decode`, decode],
    [`window (instance)`, window],
    [`window (auto)`, windowAuto],
    [`PNG encode of the ${output.width}² output`, encode],
    [`renderFrame`, render],
    [`floor: decode + PNG encode`, decode + encode],
    [`decode + renderFrame`, decode + render],
  ] as const;
  process.stdout.write(`${size}×${size} 16-bit CT → ${rendered.width}×${rendered.height} PNG of ${rendered.png.length} bytes\n`);
  for (const [name, time] of rows) process.stdout.write(`  ${name.padEnd(34)}${ms(time)}\n`);
}
