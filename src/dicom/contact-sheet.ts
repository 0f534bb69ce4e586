/**
 * Contact sheets: thumbnails of many frames in one PNG, for a quick look at a whole series (or the frames of a
 * multi-frame instance) in one image. Each frame is rendered as `renderFrame` would (render.ts), reduced into a
 * square tile, centred, and optionally labelled in its top-left corner.
 */
import { drawText, textSize } from './bitmap-font.js';
import { encodePng, MAX_PNG_BYTES, MIN_PNG_BYTES } from './png.js';
import { rasterizeFrame } from './render.js';
import { boxDownscale, fitWithin, type Raster } from './resize.js';
import type { DecodedFrame, DicomAttributes } from './types.js';
import type { AppliedWindow, WindowRequest } from './window.js';

/** Default tile edge in pixels. */
export const DEFAULT_TILE_SIZE = 256;
/** Pixels between tiles, and the grey they show, so that black tile borders stay visibly separate. */
const GAP = 2;
const GAP_GREY = 64;
/** Labels are drawn at twice the font's size on tiles at least this large. */
const LARGE_LABEL_TILE = 160;

export interface ContactSheetFrame {
  decoded: DecodedFrame;
  /** The frame's attributes, as for `renderFrame`. */
  attributes: DicomAttributes;
  /** Short text burnt into the tile's top-left corner (e.g. the instance number). */
  label?: string;
}

export interface ContactSheetOptions {
  /** Tiles per row; default: enough for a square-ish grid (⌈√N⌉). */
  columns?: number;
  /** Tile edge in pixels (default 256); never more than the largest frame, since frames are never enlarged. */
  tileSize?: number;
  /**
   * One window for every tile (an explicit window or a preset); `auto` spans each frame's own values. Default:
   * each frame's instance window, else its own range.
   */
  window?: WindowRequest;
  /** Largest PNG in bytes (default 1,000,000): a larger sheet is redrawn with smaller tiles until it fits. */
  maxBytes?: number;
}

export interface ContactSheetTile {
  /** Index into the frames given. */
  index: number;
  label?: string;
  /** The thumbnail's rectangle within the sheet. */
  x: number;
  y: number;
  width: number;
  height: number;
  window: AppliedWindow | null;
}

export interface ContactSheet {
  png: Uint8Array;
  width: number;
  height: number;
  columns: number;
  rows: number;
  /** Edge of the square cell each thumbnail is centred in. */
  tileSize: number;
  tiles: ContactSheetTile[];
  /** Whether the tiles were made smaller than asked to keep the PNG within `maxBytes`. */
  shrunkToFit: boolean;
  notes: string[];
}

interface Thumbnail {
  raster: Raster;
  window: AppliedWindow | null;
  label?: string;
}

/**
 * Renders the frames, in order, into a grid read left to right, top to bottom. Tiles are separated by a 2-pixel
 * grey gap; the sheet is greyscale unless a frame is colour. Throws as `renderFrame` does, naming the frame.
 */
export function renderContactSheet(frames: readonly ContactSheetFrame[], options: ContactSheetOptions = {}): ContactSheet {
  if (frames.length === 0) throw new RangeError('a contact sheet needs at least one frame');
  const columns = Math.min(options.columns ?? Math.ceil(Math.sqrt(frames.length)), frames.length);
  const requestedTile = options.tileSize ?? DEFAULT_TILE_SIZE;
  const maxBytes = options.maxBytes ?? MAX_PNG_BYTES;
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`columns must be a positive integer, not ${options.columns}`);
  if (!Number.isInteger(requestedTile) || requestedTile < 1) throw new RangeError(`tileSize must be a positive integer, not ${requestedTile}`);
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_PNG_BYTES) throw new RangeError(`maxBytes must be an integer of at least ${MIN_PNG_BYTES}, not ${maxBytes}`);

  const largestEdge = frames.reduce((edge, { decoded }) => Math.max(edge, decoded.width, decoded.height), 1);
  let tileSize = Math.min(requestedTile, largestEdge);
  const notes: string[] = [];
  // Thumbnails at the first tile size; full-size rasters are dropped as soon as each is reduced.
  const thumbnails = frames.map((frame, index): Thumbnail => {
    const { raster, window, notes: frameNotes } = rasterizeFrameNamed(frame, index, options.window);
    notes.push(...frameNotes.map((note) => `frame ${index}: ${note}`));
    return { raster: boxDownscale(raster, fitWithin(raster, tileSize)), window, ...(frame.label !== undefined && { label: frame.label }) };
  });

  for (let attempt = 0; ; attempt++) {
    const sheet = layOut(thumbnails, columns, tileSize);
    const png = encodePng(sheet.raster);
    if (png.length <= maxBytes || tileSize === 1) {
      if (attempt > 0) notes.push(`tiles reduced to ${tileSize} pixels, below the ${Math.min(requestedTile, largestEdge)} asked, to keep the PNG under ${maxBytes} bytes`);
      const { width, height } = sheet.raster;
      return { png, width, height, columns, rows: sheet.rows, tileSize, tiles: sheet.tiles, shrunkToFit: attempt > 0, notes };
    }
    tileSize = Math.max(1, Math.min(tileSize - 1, Math.floor(tileSize * Math.sqrt(maxBytes / png.length) * 0.95)));
  }
}

function rasterizeFrameNamed(frame: ContactSheetFrame, index: number, window: WindowRequest | undefined): ReturnType<typeof rasterizeFrame> {
  try {
    return rasterizeFrame(frame.decoded, frame.attributes, window);
  } catch (err) {
    if (err instanceof Error) err.message = `frame ${index}: ${err.message}`;
    throw err;
  }
}

function layOut(thumbnails: readonly Thumbnail[], columns: number, tileSize: number): { raster: Raster; rows: number; tiles: ContactSheetTile[] } {
  const rows = Math.ceil(thumbnails.length / columns);
  const channels = thumbnails.some((t) => t.raster.channels === 3) ? 3 : 1;
  const width = columns * tileSize + (columns - 1) * GAP;
  const height = rows * tileSize + (rows - 1) * GAP;
  const sheet: Raster = { width, height, channels, data: new Uint8Array(width * height * channels).fill(GAP_GREY) };
  const labelScale = tileSize >= LARGE_LABEL_TILE ? 2 : 1;

  const tiles = thumbnails.map(({ raster, window, label }, index): ContactSheetTile => {
    const cellX = (index % columns) * (tileSize + GAP);
    const cellY = Math.floor(index / columns) * (tileSize + GAP);
    fillRect(sheet, cellX, cellY, tileSize, tileSize, 0);
    const image = boxDownscale(raster, fitWithin(raster, tileSize));
    const x = cellX + Math.floor((tileSize - image.width) / 2);
    const y = cellY + Math.floor((tileSize - image.height) / 2);
    blit(sheet, image, x, y);
    if (label) {
      const clip = { x: cellX, y: cellY, width: tileSize, height: tileSize };
      // Skip labels that would cover most of a tiny tile.
      if (textSize(label, labelScale).height * 3 <= tileSize) drawText(sheet, label, { x: cellX + 2 * labelScale, y: cellY + 2 * labelScale, clip, scale: labelScale });
    }
    return { index, ...(label !== undefined && { label }), x, y, width: image.width, height: image.height, window };
  });
  return { raster: sheet, rows, tiles };
}

function fillRect(target: Raster, x: number, y: number, width: number, height: number, value: number): void {
  const rowBytes = width * target.channels;
  for (let row = y; row < y + height; row++) {
    const at = (row * target.width + x) * target.channels;
    target.data.fill(value, at, at + rowBytes);
  }
}

/** Copies `image` into `target` at (x, y), expanding grey to RGB when the target is colour. */
function blit(target: Raster, image: Raster, x: number, y: number): void {
  for (let row = 0; row < image.height; row++) {
    const from = row * image.width * image.channels;
    const to = ((y + row) * target.width + x) * target.channels;
    if (image.channels === target.channels) {
      target.data.set(image.data.subarray(from, from + image.width * image.channels), to);
      continue;
    }
    for (let col = 0; col < image.width; col++) {
      const v = image.data[from + col]!;
      const at = to + col * 3;
      target.data[at] = v;
      target.data[at + 1] = v;
      target.data[at + 2] = v;
    }
  }
}
