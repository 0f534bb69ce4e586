/** Regenerates the README's tool and option tables from the code; `--check` fails on drift instead. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReadme } from '../test/helpers/readme-tables.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../README.md');
const current = readFileSync(file, 'utf8');
const next = await renderReadme(current);
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('README.md tables are out of date: run npm run docs.\n');
    process.exit(1);
  }
} else {
  writeFileSync(file, next);
}
