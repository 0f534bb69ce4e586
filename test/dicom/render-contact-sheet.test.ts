import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { renderContactSheet, type ContactSheetFrame } from '../../src/dicom/contact-sheet.js';
import { DicomParseError } from '../../src/dicom/p10.js';
import type { DecodedFrame, DicomAttributes } from '../../src/dicom/types.js';

/** A greyscale frame of one stored value everywhere. */
function flatFrame(width: number, height: number, value: number, attributes: DicomAttributes = {}, label?: string): ContactSheetFrame {
  const samples = new Uint16Array(width * height).fill(value);
  const decoded: DecodedFrame = { width, height, samplesPerPixel: 1, bitsAllocated: 16, signed: false, pixels: new Uint8Array(samples.buffer) };
  return { decoded, attributes: { WindowCenter: '500', WindowWidth: '1000', ...attributes }, ...(label !== undefined && { label }) };
}

function rgbFrame(width: number, height: number, rgb: [number, number, number]): ContactSheetFrame {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set(rgb, i);
  return { decoded: { width, height, samplesPerPixel: 3, bitsAllocated: 8, signed: false, pixels }, attributes: { PhotometricInterpretation: 'RGB' } };
}

function decoded(png: Uint8Array) {
  const image = decode(png);
  const at = (x: number, y: number) => [...image.data.subarray((y * image.width + x) * image.channels, (y * image.width + x + 1) * image.channels)];
  return { ...image, at };
}

describe('renderContactSheet', () => {
  it('lays the frames out left to right, top to bottom, in a near-square grid of square tiles', () => {
    const frames = [0, 250, 500, 750, 1000].map((value) => flatFrame(300, 300, value));
    const sheet = renderContactSheet(frames, { tileSize: 100 });
    // ⌈√5⌉ = 3 columns, 2 rows, 2-pixel gaps.
    expect(sheet).toMatchObject({ columns: 3, rows: 2, tileSize: 100, width: 3 * 100 + 2 * 2, height: 2 * 100 + 2, shrunkToFit: false, notes: [] });
    expect(sheet.tiles.map(({ index, x, y, width, height }) => [index, x, y, width, height])).toEqual([
      [0, 0, 0, 100, 100],
      [1, 102, 0, 100, 100],
      [2, 204, 0, 100, 100],
      [3, 0, 102, 100, 100],
      [4, 102, 102, 100, 100],
    ]);
    const image = decoded(sheet.png);
    expect({ width: image.width, height: image.height, channels: image.channels }).toEqual({ width: 304, height: 202, channels: 1 });
    // Each tile shows its frame through the shared instance window 500/1000.
    expect(sheet.tiles.map((tile) => image.at(tile.x + 50, tile.y + 50)[0])).toEqual([0, 64, 128, 191, 255]);
    expect(image.at(101, 50)).toEqual([64]); // the gap
    expect(image.at(250, 150)).toEqual([64]); // where a sixth tile would be
  });

  it('takes the number of columns asked for, at most one per frame', () => {
    const frames = Array.from({ length: 5 }, () => flatFrame(10, 10, 0));
    expect(renderContactSheet(frames, { columns: 2 })).toMatchObject({ columns: 2, rows: 3 });
    expect(renderContactSheet(frames, { columns: 9 })).toMatchObject({ columns: 5, rows: 1, width: 5 * 10 + 4 * 2 });
    expect(() => renderContactSheet(frames, { columns: 0 })).toThrow(RangeError);
    expect(() => renderContactSheet([])).toThrow(RangeError);
  });

  it('centres frames of other shapes in their tile, and never enlarges them', () => {
    const sheet = renderContactSheet([flatFrame(200, 100, 1000), flatFrame(40, 80, 1000)], { tileSize: 128 });
    expect(sheet.tileSize).toBe(128);
    expect(sheet.tiles).toMatchObject([
      { x: 0, y: 32, width: 128, height: 64 },
      { x: 130 + 44, y: 24, width: 40, height: 80 },
    ]);
    const image = decoded(sheet.png);
    expect(image.at(64, 31)).toEqual([0]); // tile background above the wide frame
    expect(image.at(64, 32)).toEqual([255]);
    // Frames all smaller than the tile: the tile shrinks to the largest frame.
    expect(renderContactSheet([flatFrame(64, 64, 0), flatFrame(48, 32, 0)]).tileSize).toBe(64);
  });

  it('windows every tile alike when a window is given, else each with its own', () => {
    const frames = [flatFrame(16, 16, 100, { WindowCenter: '100', WindowWidth: '50' }), flatFrame(16, 16, 100, { WindowCenter: '0', WindowWidth: '50' })];
    const own = renderContactSheet(frames);
    expect(own.tiles.map((t) => t.window)).toEqual([
      { center: 100, width: 50, source: 'instance' },
      { center: 0, width: 50, source: 'instance' },
    ]);
    expect(own.tiles.map((t) => decoded(own.png).at(t.x + 8, t.y + 8)[0])).toEqual([130, 255]);
    const shared = renderContactSheet(frames, { window: { center: 100, width: 50 } });
    expect(shared.tiles.map((t) => t.window?.source)).toEqual(['request', 'request']);
    expect(shared.tiles.map((t) => decoded(shared.png).at(t.x + 8, t.y + 8)[0])).toEqual([130, 130]);
    expect(renderContactSheet(frames, { window: 'brain' }).tiles.map((t) => t.window?.source)).toEqual(['preset:brain', 'preset:brain']);
  });

  it('is colour when any frame is colour, with grey frames as grey RGB', () => {
    const sheet = renderContactSheet([flatFrame(20, 20, 1000), rgbFrame(20, 20, [200, 30, 40])]);
    const image = decoded(sheet.png);
    expect(image.channels).toBe(3);
    expect(image.at(10, 10)).toEqual([255, 255, 255]);
    expect(image.at(sheet.tiles[1]!.x + 10, 10)).toEqual([200, 30, 40]);
    expect(sheet.tiles[1]!.window).toBeNull();
  });

  it('burns labels into the top-left corner of their tile, in white on black', () => {
    const grey = 500; // mid grey through the 500/1000 window
    const sheet = renderContactSheet([flatFrame(64, 64, grey, {}, 'IM 12'), flatFrame(64, 64, grey)]);
    expect(sheet.tiles.map((t) => t.label)).toEqual(['IM 12', undefined]);
    const image = decoded(sheet.png);
    const corner = (tileX: number) => {
      const values = new Set<number>();
      for (let y = 0; y < 12; y++) for (let x = tileX; x < tileX + 32; x++) values.add(image.at(x, y)[0]!);
      return values;
    };
    expect(corner(0)).toEqual(new Set([0, 255, 128]));
    expect(corner(sheet.tiles[1]!.x)).toEqual(new Set([128]));
  });

  it('makes the tiles smaller to keep the PNG within its byte budget, and says so', () => {
    const noise = (seed: number): ContactSheetFrame => {
      const samples = new Uint16Array(256 * 256);
      let state = seed;
      for (let i = 0; i < samples.length; i++) samples[i] = (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 22;
      return { decoded: { width: 256, height: 256, samplesPerPixel: 1, bitsAllocated: 16, signed: false, pixels: new Uint8Array(samples.buffer) }, attributes: {} };
    };
    const sheet = renderContactSheet([1, 2, 3, 4].map(noise), { maxBytes: 100_000 });
    expect(sheet.png.length).toBeLessThanOrEqual(100_000);
    expect(sheet.shrunkToFit).toBe(true);
    expect(sheet.tileSize).toBeLessThan(256);
    expect(sheet.notes.join()).toMatch(new RegExp(`tiles reduced to ${sheet.tileSize} pixels, below the 256 asked`));
  });

  it('names the frame that cannot be rendered', () => {
    const palette = { ...flatFrame(4, 4, 0), attributes: { PhotometricInterpretation: 'PALETTE COLOR' } };
    expect(() => renderContactSheet([flatFrame(4, 4, 0), palette])).toThrow(DicomParseError);
    expect(() => renderContactSheet([flatFrame(4, 4, 0), palette])).toThrow(/^frame 1: PALETTE COLOR/);
  });
});
