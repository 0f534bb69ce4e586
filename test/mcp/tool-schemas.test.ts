import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listedTools } from '../helpers/tool-listing.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tool-schemas');

describe('tool-schemas/', () => {
  it('holds exactly what tools/list shows, one file per tool (run `npm run schemas` after changing a tool)', async () => {
    const tools = await listedTools();
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(tools.map((t) => `${t.name}.json`).sort());
    for (const tool of tools) {
      expect(JSON.parse(readFileSync(path.join(dir, `${tool.name}.json`), 'utf8')), tool.name).toEqual(tool);
    }
  });
});
