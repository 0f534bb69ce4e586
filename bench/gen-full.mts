import { catalog } from './lib/data.js';
await catalog(10_000, 5000, (m) => process.stderr.write(`${m}\n`));
