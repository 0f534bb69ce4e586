/**
 * Regenerates the generated parts of the docs from the code: README.md's tool and option tables, docs/iam.md's
 * permissions and policies. `--check` fails on drift instead of writing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_DOCS } from '../test/helpers/generated-docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stale: string[] = [];
for (const [relative, render] of Object.entries(GENERATED_DOCS)) {
  const file = path.join(root, relative);
  const current = readFileSync(file, 'utf8');
  const next = await render(current);
  if (next === current) continue;
  if (process.argv.includes('--check')) stale.push(relative);
  else writeFileSync(file, next);
}
if (stale.length) {
  process.stderr.write(`${stale.join(', ')}: generated sections are out of date: run npm run docs.\n`);
  process.exit(1);
}
