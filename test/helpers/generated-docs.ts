/** Every document generated from the code, in part or whole, and how to regenerate it (scripts/readme.ts). */
import { renderDemo } from './demo-transcript.js';
import { renderIamDoc } from './iam-tables.js';
import { renderReadme } from './readme-tables.js';
import { serverJson } from './server-json.js';

export const GENERATED_DOCS: Record<string, (doc: string) => string | Promise<string>> = {
  // The tables, and the demo transcript from a real session.
  'README.md': async (doc) => renderDemo(await renderReadme(doc)),
  'docs/iam.md': renderIamDoc,
  // Generated whole: the MCP Registry entry.
  'server.json': () => serverJson(),
};
