/**
 * renderFrame against an independent renderer: dcmtk's dcmj2pnm (dcm2pnm with the JPEG decoders) draws the same
 * files with the same window, and the two images must agree to within rounding. dcmtk 3.6.7 truncates where we
 * round, so single grey levels differ; anything systematic (a wrong modality LUT, a shifted window, a missed
 * inversion or colour conversion) shows up as a large mean difference.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { parseP10 } from '../../src/dicom/p10.js';
import { renderFrame, type RenderOptions } from '../../src/dicom/render.js';
import { syntheticCtSeries, syntheticMrSeries } from '../../src/dicom/synthetic.js';
import { haveSamples, sample } from './samples.js';

const DCMJ2PNM = '/usr/bin/dcmj2pnm';
const haveDcmj2pnm = existsSync(DCMJ2PNM);
if (!haveDcmj2pnm) console.warn('[test/dicom] skipping the dcmtk rendering comparisons: dcmj2pnm is missing (apt-get install dcmtk)');

/** Largest mean absolute difference accepted, in grey levels of 0 … 255. */
const MAX_MAD = 1.5;
/** Largest difference of any one sample: rounding differences only. */
const MAX_DIFFERENCE = 2;

const dir = mkdtempSync(path.join(tmpdir(), 'render-dcmtk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Comparison {
  mad: number;
  maxDifference: number;
  channels: number;
}

/**
 * Renders frame `frame` (0-based) of the P10 file with renderFrame and with `dcmj2pnm <dcmtkOptions>`, both as
 * PNG, decodes both with fast-png and compares them sample by sample.
 */
async function compareWithDcmtk(p10: Uint8Array, dcmtkOptions: string[], options: RenderOptions = {}, frame = 0): Promise<Comparison> {
  const parsed = parseP10(p10);
  const decoded = await decodeFrame(parsed.frameData[frame]!, parsed.transferSyntaxUID, parsed.geometry!);
  const ours = decode(renderFrame(decoded, { ...parsed.series, ...parsed.instance.DICOM }, options).png);

  const input = path.join(dir, 'in.dcm');
  const output = path.join(dir, 'out.png');
  writeFileSync(input, p10);
  execFileSync(DCMJ2PNM, [...dcmtkOptions, '+F', String(frame + 1), '+on', '-il', input, output], { stdio: ['ignore', 'ignore', 'pipe'] });
  const theirs = decode(readFileSync(output));

  expect({ width: ours.width, height: ours.height, channels: ours.channels, depth: ours.depth }).toEqual({
    width: theirs.width,
    height: theirs.height,
    channels: theirs.channels,
    depth: theirs.depth,
  });
  let sum = 0;
  let maxDifference = 0;
  for (let i = 0; i < ours.data.length; i++) {
    const difference = Math.abs(ours.data[i]! - theirs.data[i]!);
    sum += difference;
    maxDifference = Math.max(maxDifference, difference);
  }
  return { mad: sum / ours.data.length, maxDifference, channels: ours.channels };
}

function expectClose(comparison: Comparison, channels: 1 | 3 = 1): void {
  expect(comparison.channels).toBe(channels);
  expect(comparison.mad).toBeLessThanOrEqual(MAX_MAD);
  expect(comparison.maxDifference).toBeLessThanOrEqual(MAX_DIFFERENCE);
}

describe.skipIf(!haveDcmj2pnm)('renderFrame agrees with dcmtk', () => {
  // The demo datastore's series (src/local/demo.ts), a slice from the middle of each.
  const ct = syntheticCtSeries({ patientName: 'DEMO^CHEST^CT', patientId: 'DEMO-0001', slices: 12, rows: 256, columns: 256, seed: 1, privateTag: true })[6]!;
  const mr = syntheticMrSeries({ patientName: 'DEMO^HEAD^MR', patientId: 'DEMO-0002', slices: 8, rows: 256, columns: 256, seed: 2 })[4]!;

  it('on the demo CT: its instance window and the lung and bone presets', async () => {
    expectClose(await compareWithDcmtk(ct, ['+Wi', '1']));
    expectClose(await compareWithDcmtk(ct, ['+Ww', '-600', '1500'], { window: 'lung' }));
    expectClose(await compareWithDcmtk(ct, ['+Ww', '400', '1800'], { window: 'bone' }));
  });

  it('on the demo MR: its instance window, and the automatic window against min-max', async () => {
    expectClose(await compareWithDcmtk(mr, ['+Wi', '1']));
    expectClose(await compareWithDcmtk(mr, ['+Wm'], { window: 'auto' }));
  });

  it('with an explicit window that is not a preset', async () => {
    expectClose(await compareWithDcmtk(mr, ['+Ww', '512.5', '333'], { window: { center: 512.5, width: 333 } }));
  });
});

describe.skipIf(!haveDcmj2pnm || !haveSamples)("renderFrame agrees with dcmtk on pydicom's samples", () => {
  it('CT_small (signed, intercept −1024): the soft-tissue preset and min-max', async () => {
    expectClose(await compareWithDcmtk(sample('CT_small.dcm'), ['+Ww', '40', '400'], { window: 'soft_tissue' }));
    expectClose(await compareWithDcmtk(sample('CT_small.dcm'), ['+Wm'], { window: 'auto' }));
  });

  it('MR_small with its own window, native and RLE', async () => {
    expectClose(await compareWithDcmtk(sample('MR_small.dcm'), ['+Wi', '1']));
    expectClose(await compareWithDcmtk(sample('MR_small_RLE.dcm'), ['+Wi', '1']));
  });

  it('MONOCHROME1 CR (12 bits stored, rescale slope 0.684) inverted like dcmtk inverts it', async () => {
    for (const file of ['dicomdirtests/77654033/CR1/6154', 'dicomdirtests/77654033/CR2/6247', 'dicomdirtests/77654033/CR3/6278']) {
      expectClose(await compareWithDcmtk(sample(file), ['+Wi', '1']));
      expectClose(await compareWithDcmtk(sample(file), ['+Wm'], { window: 'auto' }));
    }
  });

  it('RGB as RGB: RLE 8- and 16-bit, both frames', async () => {
    expectClose(await compareWithDcmtk(sample('SC_rgb_rle_2frame.dcm'), [], {}, 0), 3);
    expectClose(await compareWithDcmtk(sample('SC_rgb_rle_2frame.dcm'), [], {}, 1), 3);
    expectClose(await compareWithDcmtk(sample('SC_rgb_rle_16bit.dcm'), []), 3);
  });

  it('JPEG colour (RGB and YBR_FULL_422) and native YBR_FULL_422, converted to RGB once', async () => {
    expectClose(await compareWithDcmtk(sample('SC_rgb_dcmtk_+eb+cr.dcm'), []), 3);
    expectClose(await compareWithDcmtk(sample('SC_rgb_jpeg_dcmtk.dcm'), []), 3);
    expectClose(await compareWithDcmtk(sample('SC_ybr_full_422_uncompressed.dcm'), []), 3);
  });
});
