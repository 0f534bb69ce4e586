/** get_image_frame's save_to: full-resolution PNGs and raw codestreams written into an allowed directory, nowhere else. */
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/local.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

let h: McpHarness;
let dir: string;
let frame: { datastore_id: string; image_set_id: string; image_frame_id: string };

beforeAll(async () => {
  dir = realpathSync(tempDir('himcp-frames-'));
  h = await connectMcp({ allowDir: dir });
  const ds = h.local.service.demoDatastoreId!;
  const found = await h.call('search_image_sets', { datastore_id: ds, patient_id: 'DEMO-0001' });
  const image_set_id = (found.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;
  const meta = await h.call('get_image_set_metadata', { datastore_id: ds, image_set_id });
  frame = { datastore_id: ds, image_set_id, image_frame_id: (meta.structuredContent as { instances: Array<{ frame_ids: string[] }> }).instances[0]!.frame_ids[0]! };
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('get_image_frame save_to', () => {
  it('saves the full-resolution PNG instead of returning it', async () => {
    const r = await h.call('get_image_frame', { ...frame, max_size: 64, save_to: 'ct.png' });
    expect(r.isError, textOf(r)).toBeFalsy();
    const s = r.structuredContent as { saved_path: string; saved_bytes: number; width: number; rendered_width: number };
    expect(s.saved_path).toBe(path.join(dir, 'ct.png'));
    expect(r.content.map((c) => c.type)).toEqual(['text']);
    expect(textOf(r)).toContain(`Saved to ${s.saved_path} (${s.saved_bytes} bytes); not attached.`);
    const png = readFileSync(s.saved_path);
    expect(png.length).toBe(s.saved_bytes);
    const image = decode(png);
    expect([image.width, image.height]).toEqual([256, 256]);
    expect(s.rendered_width).toBe(256);
  });

  it('saves the stored codestream with format raw, byte for byte', async () => {
    const inline = await h.call('get_image_frame', { ...frame, format: 'raw' });
    const blob = Buffer.from((inline.content[1] as { resource: { blob: string } }).resource.blob, 'base64');
    const r = await h.call('get_image_frame', { ...frame, format: 'raw', save_to: path.join(dir, 'ct.jph') });
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(readFileSync(path.join(dir, 'ct.jph')).equals(blob)).toBe(true);
    expect(r.structuredContent).toMatchObject({ saved_bytes: blob.length, content_type: 'image/jph' });
    expect(textOf(r)).toContain(`saved to ${path.join(dir, 'ct.jph')}`);
  });

  it('refuses to replace a file unless asked, and any path outside the allowed directories', async () => {
    const again = await h.call('get_image_frame', { ...frame, save_to: 'ct.png' });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/^FileExists: the file exists: ct\.png\nNext step: .*overwrite: true/s);
    const replaced = await h.call('get_image_frame', { ...frame, save_to: 'ct.png', overwrite: true, preset: 'lung' });
    expect(replaced.isError, textOf(replaced)).toBeFalsy();
    const outside = await h.call('get_image_frame', { ...frame, save_to: '../escape.png' });
    expect(outside.isError).toBe(true);
    expect(textOf(outside)).toMatch(/^PathNotAllowed: /);
    expect(existsSync(path.join(path.dirname(dir), 'escape.png'))).toBe(false);
  });

  it('is refused without an allowed directory', async () => {
    const none = await connectMcp({}, { local: h.local });
    try {
      const r = await none.call('get_image_frame', { ...frame, save_to: 'x.png' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain('--allow-dir');
    } finally {
      await none.close();
    }
  });
});
