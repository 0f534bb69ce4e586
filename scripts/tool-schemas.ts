/**
 * Writes tool-schemas/<tool>.json: each tool exactly as tools/list shows it to clients (with writes enabled, so every
 * tool is listed). `--check` compares instead of writing and exits 1 on drift (npm run schemas:check).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listedTools } from '../test/helpers/tool-listing.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tool-schemas');

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const tools = await listedTools();
  const expected = new Map(tools.map((tool) => [`${tool.name}.json`, `${JSON.stringify(tool, null, 2)}\n`]));
  if (check) {
    const drift: string[] = [];
    const present = new Set(readdirSync(dir).filter((f) => f.endsWith('.json')));
    for (const [file, text] of expected) if (!present.has(file) || readFileSync(path.join(dir, file), 'utf8') !== text) drift.push(file);
    for (const file of present) if (!expected.has(file)) drift.push(`${file} (no such tool)`);
    if (drift.length) {
      process.stderr.write(`tool-schemas/ is out of date: ${drift.join(', ')}. Run npm run schemas.\n`);
      process.exit(1);
    }
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of expected) writeFileSync(path.join(dir, file), text);
  process.stderr.write(`wrote ${expected.size} files to tool-schemas/\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
