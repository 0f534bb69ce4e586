/**
 * PNG encoding of 8-bit rasters (fast-png: pure JavaScript, deflate by fflate), and keeping a PNG under a byte
 * budget by encoding smaller versions of the raster.
 */
import { encode } from 'fast-png';
import { boxDownscale, fitWithin, type Raster } from './resize.js';

/** Default byte budget of a rendered PNG: under 1 MB by either definition of a megabyte. */
export const MAX_PNG_BYTES = 1_000_000;
/** The smallest byte budget accepted: a few thousand pixels of noise. */
export const MIN_PNG_BYTES = 4096;

/**
 * Grey rasters become greyscale PNGs, RGB rasters truecolour ones. Deflate level 1: on rendered medical images
 * it is about a third faster than fast-png's default level 3 and the files only about 1 % larger.
 */
export function encodePng(raster: Raster): Uint8Array {
  return encode({ width: raster.width, height: raster.height, data: raster.data, channels: raster.channels, depth: 8 }, { zlib: { level: 1 } });
}

export interface FittedPng {
  png: Uint8Array;
  width: number;
  height: number;
  /** Whether the raster was made smaller than `maxEdge` to keep the PNG within `maxBytes`. */
  shrunkToFit: boolean;
}

/**
 * The raster with its long edge reduced to at most `maxEdge` (box filter), as a PNG of at most `maxBytes`: when
 * the first encoding is larger, the raster is reduced further (from the full-size raster each time, so quality
 * does not degrade step by step) by the square root of the excess, since a PNG's size goes with its pixel count.
 */
export function encodeWithin(raster: Raster, maxEdge: number, maxBytes: number): FittedPng {
  let size = fitWithin(raster, maxEdge);
  for (let attempt = 0; ; attempt++) {
    const scaled = boxDownscale(raster, size);
    const png = encodePng(scaled);
    const longEdge = Math.max(size.width, size.height);
    if (png.length <= maxBytes || longEdge === 1) return { png, width: size.width, height: size.height, shrunkToFit: attempt > 0 };
    // 5 % below the estimate, so that a second retry is rare.
    const smaller = Math.floor(longEdge * Math.sqrt(maxBytes / png.length) * 0.95);
    size = fitWithin(raster, Math.max(1, Math.min(smaller, longEdge - 1)));
  }
}
