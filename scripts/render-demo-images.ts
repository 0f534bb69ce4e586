/**
 * Renders the README's example images from the demo data: a mid-chest slice of the synthetic CT and a mid-head
 * slice of the synthetic MR, each with its instance's window, to docs/images/demo-ct.png and demo-mr.png.
 * `--check` fails when the files differ from what the code renders now, instead of writing them.
 *
 *   npx tsx scripts/render-demo-images.ts [--check]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFrame } from '../src/dicom/codecs.js';
import { parseP10 } from '../src/dicom/p10.js';
import { renderFrame } from '../src/dicom/render.js';
import { syntheticCtSeries, syntheticMrSeries } from '../src/dicom/synthetic.js';

const outDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/images');

// The demo datastore's series, with the options src/local/demo.ts seeds it with.
const ct = syntheticCtSeries({ patientName: 'DEMO^CHEST^CT', patientId: 'DEMO-0001', slices: 12, rows: 256, columns: 256, seed: 1, privateTag: true });
const mr = syntheticMrSeries({ patientName: 'DEMO^HEAD^MR', patientId: 'DEMO-0002', slices: 8, rows: 256, columns: 256, seed: 2 });

const images: Array<[file: string, p10: Uint8Array]> = [
  ['demo-ct.png', ct[6]!], // below the carina: heart, aorta, both lungs, vertebra
  ['demo-mr.png', mr[4]!], // above the orbits: ventricles at their widest
];

const stale: string[] = [];
for (const [file, p10] of images) {
  const parsed = parseP10(p10);
  const decoded = await decodeFrame(parsed.frameData[0]!, parsed.transferSyntaxUID, parsed.geometry!);
  const { png, width, height, window } = renderFrame(decoded, { ...parsed.series, ...parsed.instance.DICOM });
  const target = path.join(outDir, file);
  if (process.argv.includes('--check')) {
    if (!existsSync(target) || !Buffer.from(png).equals(readFileSync(target))) stale.push(file);
    continue;
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(target, png);
  process.stdout.write(`${path.relative(process.cwd(), target)}: ${width}×${height}, window C${window?.center} W${window?.width} (${window?.source}), ${png.length} bytes\n`);
}
if (stale.length) {
  process.stderr.write(`docs/images out of date: ${stale.join(', ')}; run npx tsx scripts/render-demo-images.ts\n`);
  process.exit(1);
}
