/** Every document with sections generated from the code, and how to regenerate it (scripts/readme.ts). */
import { renderIamDoc } from './iam-tables.js';
import { renderReadme } from './readme-tables.js';

export const GENERATED_DOCS: Record<string, (doc: string) => string | Promise<string>> = {
  'README.md': renderReadme,
  'docs/iam.md': renderIamDoc,
};
