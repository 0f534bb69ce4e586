/**
 * 8-bit rasters (grey or interleaved RGB) and their reduction: an area-average (box) filter, which weighs each
 * source pixel by the part of it an output pixel covers. Unlike point sampling it keeps thin structures and
 * averages noise instead of aliasing it, and unlike wider kernels it never rings.
 */

export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  /** `height` rows of `width × channels` bytes. */
  data: Uint8Array;
}

export interface Size {
  width: number;
  height: number;
}

/** The size with the long edge at most `maxEdge` and the aspect ratio kept (each edge at least 1); never larger. */
export function fitWithin(size: Size, maxEdge: number): Size {
  const scale = maxEdge / Math.max(size.width, size.height);
  if (scale >= 1) return { width: size.width, height: size.height };
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}

/**
 * The raster reduced to `width × height` (each at most the source's) by area averaging, as two separable passes:
 * rows first, into a float buffer (whole rows at a time, which walks memory in order), then columns. Returns the
 * source itself when the size is unchanged.
 */
export function boxDownscale(source: Raster, { width, height }: Size): Raster {
  if (width === source.width && height === source.height) return source;
  if (!(width >= 1 && height >= 1 && width <= source.width && height <= source.height)) {
    throw new RangeError(`cannot box-filter ${source.width}×${source.height} to ${width}×${height}: the filter only reduces`);
  }
  const { channels, data: from } = source;
  const down = areaWeights(source.height, height);
  const across = areaWeights(source.width, width);

  // Vertical pass: each output row is a weighted sum of whole source rows.
  const sourceRow = source.width * channels;
  const short = new Float32Array(height * sourceRow);
  for (let y = 0; y < height; y++) {
    const to = y * sourceRow;
    for (let k = down.start[y]!, s = down.first[y]!; k < down.start[y + 1]!; k++, s++) {
      const w = down.weight[k]!;
      const at = s * sourceRow;
      for (let i = 0; i < sourceRow; i++) short[to + i]! += w * from[at + i]!;
    }
  }

  // Horizontal pass, per channel. Weights sum to 1, so the averages are within 0 … 255; starting the sum at 0.5
  // makes the truncating store round.
  const row = width * channels;
  const data = new Uint8Array(height * row);
  for (let y = 0; y < height; y++) {
    const at = y * sourceRow;
    for (let x = 0; x < width; x++) {
      const to = y * row + x * channels;
      const end = across.start[x + 1]!;
      for (let c = 0; c < channels; c++) {
        let sum = 0.5;
        for (let k = across.start[x]!, s = at + across.first[x]! * channels + c; k < end; k++, s += channels) sum += across.weight[k]! * short[s]!;
        data[to + c] = sum;
      }
    }
  }
  return { width, height, channels, data };
}

interface AreaWeights {
  /** First source index contributing to each output index. */
  first: Int32Array;
  /** Output index i's weights are `weight[start[i]] … weight[start[i + 1] - 1]`, for sources first[i], first[i] + 1, … */
  start: Int32Array;
  weight: Float32Array;
}

/**
 * Output pixel i covers source interval [i × r, (i + 1) × r) with r = from / to; each source pixel it touches
 * weighs by the length of the overlap, divided by r so that the weights sum to 1.
 */
function areaWeights(from: number, to: number): AreaWeights {
  const ratio = from / to;
  const first = new Int32Array(to);
  const start = new Int32Array(to + 1);
  const weights: number[] = [];
  for (let i = 0; i < to; i++) {
    const a = i * ratio;
    const b = Math.min(from, (i + 1) * ratio);
    first[i] = Math.floor(a);
    start[i] = weights.length;
    for (let s = Math.floor(a); s < b; s++) {
      const overlap = Math.min(b, s + 1) - Math.max(a, s);
      // Floating-point edges can graze a neighbour by 1e-12; such a sliver is not a contribution.
      if (overlap > 1e-9) weights.push(overlap / ratio);
      else if (s === first[i]) first[i] = s + 1;
    }
  }
  start[to] = weights.length;
  return { first, start, weight: Float32Array.from(weights) };
}
