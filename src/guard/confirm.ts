/**
 * The confirmation flow for destructive calls (the tool's `guard.confirmation(args)` gives a reason):
 *
 *   1. Choose the path: form elicitation when the client declared it; otherwise `--confirm-mode` decides: `elicit`
 *      refuses (ConfirmationUnavailable, telling the operator what to change), `token` previews and issues a token,
 *      `none` goes ahead unconfirmed.
 *   2. Resolve and check the target and describe the change (`guard.preview`): a call that cannot succeed is refused
 *      before anyone is asked.
 *   3. Elicitation: a form with one checkbox, sent as part of this tool call (relatedRequestId). Only `accept` with
 *      the box ticked goes ahead, after checking that the target did not change while the dialog was open; decline,
 *      cancel, an unticked box and a timeout change nothing and say so in an ordinary (non-error) result.
 *      Token: without a token, the preview and a token bound to this exact call and target state; with one, the
 *      token is verified and consumed (tokens.ts), with a distinct error for each way it can fail.
 *
 * No tool argument can stand in for a confirmation: the decision is the person's (elicitation) or the operator's
 * (--confirm-mode), never the model's.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { type ClientCapabilities, type ElicitResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../config.js';
import type { ToolContext, ToolDefinition, WritePreview } from '../tools/types.js';
import type { ConfirmationPath } from './audit.js';
import { GuardError } from './errors.js';
import type { Outcome } from './policy.js';
import type { ConfirmationTokens } from './tokens.js';

export interface ConfirmDeps {
  /** The low-level MCP server of this session: it knows the client's capabilities and sends the elicitation. */
  server: Server;
  config: Config;
  tokens: ConfirmationTokens;
}

type Args = Record<string, unknown>;
type Preview = WritePreview<unknown>;

/** The call may go ahead; `preview` is set when one was made (it says what the call changes). */
export interface Proceed {
  proceed: true;
  preview?: Preview;
}

/** The call stops here without changing anything, as an ordinary result. */
export interface Stop {
  proceed: false;
  outcome: Extract<Outcome, 'confirmation_required' | 'declined' | 'cancelled' | 'timed_out'>;
  text: string;
  preview: Preview;
  token?: { token: string; expiresAt: Date };
}

/** Longest list of changes shown to a person or returned to the model. */
export const MAX_CHANGE_LINES = 100;

/** An empty `elicitation: {}` (2025-06-18 clients) means form. */
export function supportsFormElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  return elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
}

/** How this call will be confirmed (decided before anything is read, so that a refusal costs nothing). */
export function confirmationPath(tool: ToolDefinition, args: Args, deps: Pick<ConfirmDeps, 'server' | 'config'>): ConfirmationPath {
  if (!tool.guard?.confirmation(args)) return 'not_required';
  if (supportsFormElicitation(deps.server.getClientCapabilities())) return 'elicitation';
  return deps.config.confirmMode === 'elicit' ? 'unavailable' : deps.config.confirmMode;
}

/** Runs the flow for a call on `path` (from confirmationPath); throws a GuardError when it is refused. */
export async function confirmWrite(path: ConfirmationPath, tool: ToolDefinition, args: Args, ctx: ToolContext, deps: ConfirmDeps): Promise<Proceed | Stop> {
  const guard = tool.guard;
  const reason = guard?.confirmation(args);
  if (path === 'not_required' || !guard || !reason) return { proceed: true };
  if (path === 'unavailable') throw unavailable(tool, reason);
  const preview = await guard.preview(args, ctx);
  switch (path) {
    case 'none':
      return { proceed: true, preview };
    case 'token':
      return byToken(tool, args, reason, preview, ctx, deps);
    case 'elicitation': {
      const stop = await askPerson(reason, preview, ctx, deps);
      if (stop) return stop;
      // The person may have taken minutes: what they confirmed must still be what will change.
      const now = await guard.preview(args, ctx);
      if (now.version !== preview.version) {
        throw new GuardError(
          'TargetChanged',
          `The target changed while the confirmation dialog was open (${preview.version} then, ${now.version} now). Nothing was changed.`,
          'Review the target\'s current state and call again if the change is still wanted.',
        );
      }
      return { proceed: true, preview: now };
    }
  }
}

function unavailable(tool: ToolDefinition, reason: string): GuardError {
  return new GuardError(
    'ConfirmationUnavailable',
    `${tool.name} needs a person's confirmation here (${reason}), and this client cannot show confirmation dialogs (it did not declare form elicitation). Nothing was changed.`,
    'Tell the user. The operator can use a client that supports MCP elicitation (Claude Code, VS Code, Cursor), or restart the server with ' +
      '--confirm-mode token (a preview, then a second call with a single-use token) or, for unattended automation only, --confirm-mode none.',
  );
}

/** Lines of changes, at most MAX_CHANGE_LINES, saying how many were left out. */
export function changeLines(preview: Preview): string[] {
  const { changes } = preview;
  if (changes.length <= MAX_CHANGE_LINES) return changes;
  return [...changes.slice(0, MAX_CHANGE_LINES - 1), `… and ${changes.length - MAX_CHANGE_LINES + 1} more (${changes.length} in all)`];
}

const indented = (preview: Preview) => changeLines(preview).map((line) => `  ${line}`);

async function askPerson(reason: string, preview: Preview, ctx: ToolContext, deps: ConfirmDeps): Promise<Stop | undefined> {
  const timeoutMs = deps.config.confirmTimeoutSeconds * 1000;
  const message = [preview.action, `Asking because ${reason}.`, 'What will change:', ...indented(preview), 'Tick the box and accept to go ahead; anything else leaves everything as it is.'].join('\n');
  let answer: ElicitResult;
  try {
    answer = await deps.server.elicitInput(
      {
        mode: 'form',
        message,
        requestedSchema: {
          type: 'object',
          properties: { confirm: { type: 'boolean', title: 'Yes, go ahead', description: preview.action, default: false } },
          required: ['confirm'],
        },
      },
      { relatedRequestId: ctx.extra.requestId, timeout: timeoutMs, signal: ctx.signal },
    );
  } catch (err) {
    if (err instanceof McpError && err.code === ErrorCode.RequestTimeout) {
      return stop('timed_out', `Not done: nobody answered the confirmation dialog within ${deps.config.confirmTimeoutSeconds} s. Nothing was changed.`, preview);
    }
    throw new GuardError('ConfirmationFailed', `The confirmation dialog failed (${(err as Error).message}). Nothing was changed.`, 'Retry; if it keeps failing, tell the user that the client could not show the dialog.');
  }
  if (answer.action === 'accept' && answer.content?.confirm === true) return undefined;
  const [outcome, what] = notConfirmed(answer.action);
  return stop(outcome, `Not done: ${what}. Nothing was changed. Do not retry unless the person asks for it.`, preview);
}

function notConfirmed(action: 'accept' | 'decline' | 'cancel'): [Stop['outcome'], string] {
  if (action === 'cancel') return ['cancelled', 'the person dismissed the confirmation dialog'];
  if (action === 'decline') return ['declined', 'the person declined'];
  return ['declined', 'the person did not tick the confirmation box'];
}

function byToken(tool: ToolDefinition, args: Args, reason: string, preview: Preview, ctx: ToolContext, deps: ConfirmDeps): Proceed | Stop {
  const { confirmation_token: token, ...callArgs } = args;
  const binding = { tool: tool.name, args: callArgs, version: preview.version, session: ctx.extra.sessionId };
  if (typeof token === 'string') {
    deps.tokens.redeem(token, binding);
    return { proceed: true, preview };
  }
  const issued = deps.tokens.issue(binding, deps.config.confirmTimeoutSeconds * 1000);
  const text = [
    `Confirmation required; nothing has been changed yet. ${preview.action}`,
    `Confirmation is required because ${reason}.`,
    'What will change:',
    ...indented(preview),
    `To go ahead, show this to the user and, if they agree, call ${tool.name} again with exactly the same arguments plus ` +
      `confirmation_token="${issued.token}" (works once, until ${issued.expiresAt.toISOString()}).`,
  ].join('\n');
  return { ...stop('confirmation_required', text, preview), token: issued };
}

const stop = (outcome: Stop['outcome'], text: string, preview: Preview): Stop => ({ proceed: false, outcome, text, preview });
