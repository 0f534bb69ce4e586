/**
 * A 5×7 pixel font for burning short labels (instance numbers, frame indices) into rendered images, so that a
 * person or a model looking at a contact sheet can tell the tiles apart. Digits, capital letters and a little
 * punctuation; lower case is drawn as capitals and anything else as `?`.
 */
import type { Raster } from './resize.js';

const GLYPH_WIDTH = 5;
const GLYPH_HEIGHT = 7;

/** Each glyph: seven rows of five pixels, top to bottom, `#` set. */
const GLYPHS: Readonly<Record<string, string>> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '.###. #...# ....# ..##. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. ..#.. .#...',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '-': '..... ..... ..... ##### ..... ..... .....',
  _: '..... ..... ..... ..... ..... ..... #####',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
};

/** Glyph rows as bit masks, bit 4 the leftmost pixel. */
const MASKS: ReadonlyMap<string, Uint8Array> = new Map(
  Object.entries(GLYPHS).map(([char, rows]) => [char, Uint8Array.from(rows.split(' '), (row) => Number.parseInt(row.replaceAll('#', '1').replaceAll('.', '0'), 2))]),
);

function glyphOf(char: string): Uint8Array {
  return MASKS.get(char) ?? MASKS.get(char.toUpperCase()) ?? MASKS.get('?')!;
}

/** Width and height in pixels of `text` drawn at `scale`, without the backing box. */
export function textSize(text: string, scale: number): { width: number; height: number } {
  const length = [...text].length;
  return { width: length === 0 ? 0 : (length * (GLYPH_WIDTH + 1) - 1) * scale, height: GLYPH_HEIGHT * scale };
}

export interface TextBox {
  /** Left and top of the text, inside the backing box. */
  x: number;
  y: number;
  /** Pixels beyond this box are left alone (the tile the label belongs to). */
  clip: { x: number; y: number; width: number; height: number };
  scale: number;
}

/**
 * Draws white `text` on a black box one `scale` unit wider than the text on each side, so it reads on any image.
 * Characters that do not fit the clip box are cut off.
 */
export function drawText(raster: Raster, text: string, { x, y, clip, scale }: TextBox): void {
  const size = textSize(text, scale);
  const left = Math.max(clip.x, 0);
  const top = Math.max(clip.y, 0);
  const right = Math.min(clip.x + clip.width, raster.width);
  const bottom = Math.min(clip.y + clip.height, raster.height);
  const set = (px: number, py: number, value: number) => {
    if (px < left || px >= right || py < top || py >= bottom) return;
    const at = (py * raster.width + px) * raster.channels;
    for (let c = 0; c < raster.channels; c++) raster.data[at + c] = value;
  };
  for (let py = y - scale; py < y + size.height + scale; py++) for (let px = x - scale; px < x + size.width + scale; px++) set(px, py, 0);
  [...text].forEach((char, i) => {
    const glyph = glyphOf(char);
    const gx = x + i * (GLYPH_WIDTH + 1) * scale;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (!((glyph[row]! >> (GLYPH_WIDTH - 1 - col)) & 1)) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) set(gx + col * scale + dx, y + row * scale + dy, 255);
      }
    }
  });
}
