import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../helpers/readme-tables.js';

describe('README', () => {
  it('has tool and option tables generated from the code (run `npm run docs` after changing them)', async () => {
    const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');
    const current = readFileSync(file, 'utf8');
    expect(await renderReadme(current)).toBe(current);
  });
});
