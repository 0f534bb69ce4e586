/** The README's generated tables: the tools (from tools/list) and the options (from the config schema). */
import { configSchema, envName, kebab } from '../../src/config.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { listedTools } from './tool-listing.js';

const escape = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export async function toolsTable(): Promise<string> {
  const tools = await listedTools();
  const rows = tools.map((t) => {
    const a = t.annotations!;
    const kind = a.readOnlyHint ? 'read-only' : a.destructiveHint ? 'write, **destructive**' : 'write';
    const toolset = ALL_TOOLS.find((d) => d.name === t.name)!.toolset;
    const firstSentence = (t.description ?? '').split(/(?<=\.)\s/)[0]!;
    return `| \`${t.name}\` | ${escape(t.title ?? '')} | \`${toolset}\` | ${kind} | ${escape(firstSentence)} |`;
  });
  return ['| Tool | Title | Toolset | Kind | What it does |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function optionsTable(): string {
  const rows = Object.entries(configSchema.shape).map(([key, schema]) => {
    const fallback = schema.safeParse(undefined);
    const shown = fallback.success && fallback.data !== undefined ? `\`${String(fallback.data).replace(/^\/(root|home\/[^/]+)/, '~')}\`` : '';
    return `| \`--${kebab(key)}\` | \`${envName(key)}\` | ${shown} | ${escape(schema.description ?? '')} |`;
  });
  return ['| Flag | Environment | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${start} … ${end} section`);
  return `${doc.slice(0, i + start.length)}\n${body}\n${doc.slice(j)}`;
}

export async function renderReadme(doc: string): Promise<string> {
  return replaceSection(replaceSection(doc, 'tools', await toolsTable()), 'options', optionsTable());
}
