/** docs/iam.md's generated parts: the actions of each tool and three least-privilege policies, from src/aws/iam.ts. */
import { policyFor, TOOL_PERMISSIONS } from '../../src/aws/iam.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import type { ToolDefinition } from '../../src/tools/types.js';
import { replaceSection } from './readme-tables.js';

/** The three deployments docs/iam.md gives a policy for, each as the tools it exposes. */
export const POLICY_PROFILES: Array<{ name: string; section: string; tools: (tool: ToolDefinition) => boolean }> = [
  { name: 'read-only', section: 'iam-policy-read-only', tools: (t) => t.annotations.readOnlyHint },
  // Curation: change image sets and tags, import and store; never delete, never create datastores.
  { name: 'curation', section: 'iam-policy-curation', tools: (t) => t.annotations.readOnlyHint || (t.toolset !== 'delete' && t.scope !== 'account') },
  { name: 'admin', section: 'iam-policy-admin', tools: () => true },
];

const kind = (t: ToolDefinition) => (t.annotations.readOnlyHint ? 'read' : t.annotations.destructiveHint ? 'write, destructive' : 'write');

export function iamToolsTable(): string {
  const rows = ALL_TOOLS.map((tool) => {
    const p = TOOL_PERMISSIONS[tool.name];
    if (!p) throw new Error(`src/aws/iam.ts has no entry for the tool ${tool.name}`);
    const actions = p.actions.map((a) => `\`medical-imaging:${a}\``).join(', ');
    const also = (p.conditional ?? []).map((c) => `${c.when}: ${c.actions.map((a) => `\`${a}\``).join(', ')}`).join('; ');
    return `| \`${tool.name}\` | \`${tool.toolset}\` | ${kind(tool)} | ${actions} | ${also} |`;
  });
  return ['| Tool | Toolset | Kind | IAM actions | Also needs |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function iamPolicy(profile: (typeof POLICY_PROFILES)[number]): string {
  const tools = ALL_TOOLS.filter(profile.tools).map((t) => t.name);
  const flags = profile.name === 'read-only' ? '--read-only' : profile.name === 'curation' ? '--allow-write --exclude-tools ' + ALL_TOOLS.filter((t) => !profile.tools(t)).map((t) => t.name).join(',') : '--allow-write';
  return [`Server flags: \`${flags}\`. Tools: ${tools.map((t) => `\`${t}\``).join(', ')}.`, '', '```json', JSON.stringify(policyFor(tools), null, 2), '```'].join('\n');
}

export function renderIamDoc(doc: string): string {
  let next = replaceSection(doc, 'iam-tools', iamToolsTable());
  for (const profile of POLICY_PROFILES) next = replaceSection(next, profile.section, iamPolicy(profile));
  return next;
}
