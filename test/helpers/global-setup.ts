/**
 * Builds dist/ once so that tests spawning the CLI run the code under test.
 * HEALTHIMAGING_TEST_SKIP_BUILD=1 skips it while iterating on tests that do not spawn the CLI.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env.HEALTHIMAGING_TEST_SKIP_BUILD === '1') return;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
