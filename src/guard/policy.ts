/**
 * Which tools a configuration exposes, and with which schemas. A tool is exposed when all of these hold:
 *   1. it is selected: its toolset is in `--toolsets` (all by default, none when only `--tools` is given) or its name is
 *      in `--tools`;
 *   2. it is not in `--exclude-tools`;
 *   3. it reads (its own `readOnlyHint`), or writes are enabled (`--read-only` wins over `--allow-write`);
 *   4. under `--datastore-ids`, it does not write at the account level (create_datastore would make a datastore
 *      outside the allow-list).
 * Exposed tools keep the catalogue's order, whatever the order of the flags, so tools/list is deterministic.
 * Hidden tools are not registered at all: calling one by name fails as an unknown tool.
 */
import { z } from 'zod';
import { type Config, writesEnabled } from '../config.js';
import { datastoreId } from '../tools/fields.js';
import type { ToolDefinition } from '../tools/types.js';

export type HiddenBecause = 'not selected' | 'excluded' | 'read-only' | 'datastore allow-list';

/** Why the configuration hides `tool`, or undefined when it exposes it. */
export function hiddenBecause(tool: ToolDefinition, config: Config): HiddenBecause | undefined {
  const toolsets = config.toolsets ?? (config.tools ? [] : ['all']);
  const selected = toolsets.includes('all') || toolsets.includes(tool.toolset) || (config.tools ?? []).includes(tool.name);
  if (!selected) return 'not selected';
  if (config.excludeTools?.includes(tool.name)) return 'excluded';
  const writes = !tool.annotations.readOnlyHint;
  if (writes && !writesEnabled(config)) return 'read-only';
  if (writes && tool.scope === 'account' && config.datastoreIds) return 'datastore allow-list';
  return undefined;
}

/** The tools this configuration exposes, in catalogue order. */
export function selectTools(tools: readonly ToolDefinition[], config: Config): ToolDefinition[] {
  return tools.filter((tool) => hiddenBecause(tool, config) === undefined);
}

/** The one datastore every call goes to, when the allow-list names exactly one. */
export function onlyDatastore(config: Config): string | undefined {
  return config.datastoreIds?.length === 1 ? config.datastoreIds[0] : undefined;
}

const confirmationToken = z
  .string()
  .min(1)
  .max(2048)
  .optional()
  .describe(
    'Only for clients that cannot show confirmation dialogs: the confirmation_token an earlier call of this tool returned with its preview. ' +
      'Call again with exactly the same arguments plus this token to carry out the change; a token works once and expires within minutes.',
  );

/** The input schema as this configuration exposes it. */
export function exposedInputShape(tool: ToolDefinition, config: Config): z.ZodRawShape {
  const shape: Record<string, z.core.$ZodType> = { ...tool.inputSchema };
  const only = onlyDatastore(config);
  if (only && 'datastore_id' in shape) {
    shape.datastore_id = datastoreId.default(only).describe(`Datastore ID (default ${only}: the only datastore this server may use)`);
  }
  if (tool.guard && config.confirmMode === 'token') shape.confirmation_token = confirmationToken;
  return shape;
}

/** What a guarded call did: only `applied` changed anything. */
export const OUTCOMES = ['applied', 'dry_run', 'confirmation_required', 'declined', 'cancelled', 'timed_out'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const guardedOutput = {
  outcome: z
    .enum(OUTCOMES)
    .describe(
      'applied: the change was made. Anything else: nothing changed, and the other fields describe the target as it is: dry_run (preview only), ' +
        'confirmation_required (call again with confirmation_token), declined, cancelled or timed_out (the person did not confirm)',
    ),
  changes: z.array(z.string()).optional().describe('What the change does, or would do, one line each'),
};

const tokenOutput = {
  confirmation_token: z.string().optional().describe('With outcome confirmation_required: pass it, with the same arguments, to carry out the change'),
  confirmation_expires_at: z.string().optional().describe('When confirmation_token expires (ISO 8601)'),
};

/** The output schema as this configuration exposes it: guarded tools also say whether anything changed. */
export function exposedOutputShape(tool: ToolDefinition, config: Config): z.ZodRawShape | undefined {
  if (!tool.outputSchema || !tool.guard) return tool.outputSchema;
  return { ...tool.outputSchema, ...guardedOutput, ...(config.confirmMode === 'token' && tokenOutput) };
}

/**
 * What the operator should know at startup about the write guard: one summary line, and warnings for settings that
 * weaken it or that do not do what they seem to (a write tool named in --tools while read-only).
 */
export function describeGuard(tools: readonly ToolDefinition[], config: Config): { summary: string; warnings: string[] } {
  const exposed = selectTools(tools, config);
  const writes = exposed.filter((t) => !t.annotations.readOnlyHint);
  const scope = config.datastoreIds ? `; confined to datastore(s) ${config.datastoreIds.join(', ')}` : '';
  const confirm =
    config.confirmMode === 'elicit'
      ? 'destructive actions need confirmation in a client dialog, else they are refused (--confirm-mode elicit)'
      : config.confirmMode === 'token'
        ? 'destructive actions need confirmation in a client dialog, else a preview and a confirmation token (--confirm-mode token)'
        : 'destructive actions need confirmation in a client dialog where the client has one, else none (--confirm-mode none)';
  const count = `${exposed.length} tool${exposed.length === 1 ? '' : 's'}`;
  const summary = writes.length
    ? `${count}, ${writes.length} of them write; ${confirm}${scope}`
    : `${count}, read-only${writesEnabled(config) ? '' : ' (--allow-write enables changes)'}${scope}`;

  const warnings: string[] = [];
  if (!exposed.length) warnings.push('No tool is exposed: check --toolsets, --tools and --exclude-tools (and --read-only, which hides every write tool).');
  if (config.confirmMode === 'none' && writes.length) {
    warnings.push(
      '--confirm-mode none: deletions, untagging, forced updates and copies, reverts and instance removals run without anyone confirming them ' +
        'when the client cannot show a dialog. Use it only for unattended automation whose inputs you control.',
    );
  }
  if (config.confirmMode === 'token' && writes.length) {
    warnings.push('--confirm-mode token: the model can request and redeem a confirmation token by itself; tokens add a preview step, not human consent.');
  }
  for (const tool of tools) {
    const reason = hiddenBecause(tool, config);
    if (config.tools?.includes(tool.name) && (reason === 'read-only' || reason === 'datastore allow-list')) {
      warnings.push(`--tools names ${tool.name}, which is hidden (${reason === 'read-only' ? 'the server is read-only' : 'it would act outside --datastore-ids'}).`);
    }
  }
  return { summary, warnings };
}
