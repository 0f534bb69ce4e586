/**
 * The one registrar: turns tool definitions into MCP tools. It exposes only what the configuration allows
 * (guard/policy.ts), runs every write through the write guard (dry runs, confirmation, audit), and maps every
 * failure to an isError result that names the error and the next step.
 */
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { describeError, formatError } from '../aws/errors.js';
import type { Config } from '../config.js';
import { REDACTION_NOTE } from '../dicom/redact.js';
import { type AuditLog, type AuditRecord, auditResult, auditTargets, type ConfirmationPath, noteWriteRequestIds, sessionDigest } from '../guard/audit.js';
import { changeLines, confirmationPath, confirmWrite, type Stop } from '../guard/confirm.js';
import { GuardError } from '../guard/errors.js';
import { exposedInputShape, exposedOutputShape, type Outcome, selectTools } from '../guard/policy.js';
import type { FileAccess } from '../guard/paths.js';
import type { ConfirmationTokens } from '../guard/tokens.js';
import type { ToolContext, ToolDefinition, ToolOutput, WritePreview } from './types.js';

export interface RegistryDeps {
  client: MedicalImagingClient;
  config: Config;
  audit: AuditLog;
  tokens: ConfirmationTokens;
  files: FileAccess;
}

type Args = Record<string, unknown>;
type Extra = ToolContext['extra'];

export function registerTools(server: McpServer, tools: readonly ToolDefinition[], deps: RegistryDeps): void {
  for (const tool of selectTools(tools, deps.config)) {
    const exposed = exposedOutputShape(tool, deps.config);
    const outputSchema = exposed && deps.config.redactPhi ? { ...exposed, ...redactedOutput } : exposed;
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: exposedInputShape(tool, deps.config),
        ...(outputSchema && { outputSchema }),
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (args: Args, extra: Extra): Promise<CallToolResult> => {
        const result = tool.annotations.readOnlyHint
          ? await callRead(tool, args, extra, deps)
          : tool.guard?.dryRun?.(args)
            ? await callDryRun(tool, args, extra, deps)
            : await callWrite(tool, args, extra, server, deps);
        return deps.config.redactPhi ? noteRedaction(result) : result;
      },
    );
  }
}

async function callRead(tool: ToolDefinition, args: Args, extra: Extra, deps: RegistryDeps): Promise<CallToolResult> {
  try {
    const out = await tool.handler(args, { client: deps.client, config: deps.config, files: deps.files, signal: extra.signal, extra });
    return success(out, out.structured);
  } catch (err) {
    return failure(err);
  }
}

/** A write tool asked only for its preview: reads, and writes nothing (so it needs no confirmation and no audit). */
async function callDryRun(tool: ToolDefinition, args: Args, extra: Extra, deps: RegistryDeps): Promise<CallToolResult> {
  try {
    return previewResult(await tool.guard!.preview(args, { client: deps.client, config: deps.config, files: deps.files, signal: extra.signal, extra }));
  } catch (err) {
    return failure(err);
  }
}

/** A write: confirmed where its guard asks for it, carried out, and recorded in the audit log whatever the outcome. */
async function callWrite(tool: ToolDefinition, args: Args, extra: Extra, server: McpServer, deps: RegistryDeps): Promise<CallToolResult> {
  const requestIds: string[] = [];
  const ctx: ToolContext = { client: noteWriteRequestIds(deps.client, requestIds), config: deps.config, files: deps.files, signal: extra.signal, extra };
  const confirmDeps = { server: server.server, config: deps.config, tokens: deps.tokens };
  let path: ConfirmationPath = 'not_required';
  const audit = (entry: Pick<AuditRecord, 'outcome'> & Partial<AuditRecord>) =>
    deps.audit.record({ tool: tool.name, session: sessionDigest(extra.sessionId), targets: auditTargets(args), confirmation: path, ...entry });
  let writing = false;
  try {
    path = confirmationPath(tool, args, confirmDeps);
    const decision = await confirmWrite(path, tool, args, ctx, confirmDeps);
    if (!decision.proceed) {
      audit({ outcome: decision.outcome });
      return stopped(decision);
    }
    writing = true;
    const out = await tool.handler(args, ctx);
    const structured = tool.guard ? { ...out.structured, outcome: 'applied' satisfies Outcome, ...(decision.preview && { changes: changeLines(decision.preview) }) } : out.structured;
    audit({ outcome: 'applied', aws_request_id: requestIds[0], result: auditResult(structured as Args | undefined) });
    return success(out, structured);
  } catch (err) {
    const described = describeError(err);
    // Anything before the write itself, and every guard refusal, left the data untouched.
    audit({ outcome: writing && !(err instanceof GuardError) ? 'failed' : 'refused', error: described.name, aws_request_id: requestIds[0] ?? described.requestId });
    return failure(err);
  }
}

/** With --redact-phi every result says so (the masking itself happens in the client: guard/redaction.ts). */
const redactedOutput = { phi_redacted: z.boolean().optional().describe('True when patient-identifying attributes were masked (--redact-phi)') };

function noteRedaction(result: CallToolResult): CallToolResult {
  if (result.isError) return result;
  return {
    ...result,
    content: [...result.content, { type: 'text', text: REDACTION_NOTE }],
    ...(result.structuredContent && { structuredContent: { ...result.structuredContent, phi_redacted: true } }),
  };
}

function success(out: ToolOutput<unknown>, structured: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text: out.text }, ...(out.content ?? [])],
    ...(structured !== undefined && { structuredContent: structured as Args }),
  };
}

function failure(err: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: formatError(describeError(err)) }] };
}

function previewResult(preview: WritePreview<unknown>): CallToolResult {
  const changes = changeLines(preview);
  const text = [`Dry run: nothing was written. ${preview.action}`, ...changes.map((line) => `  ${line}`), 'Call again without dry_run to make this change.'].join('\n');
  return { content: [{ type: 'text', text }], structuredContent: { ...(preview.current as Args), outcome: 'dry_run' satisfies Outcome, changes } };
}

function stopped(stop: Stop): CallToolResult {
  const structured = {
    ...(stop.preview.current as Args),
    outcome: stop.outcome,
    changes: changeLines(stop.preview),
    ...(stop.token && { confirmation_token: stop.token.token, confirmation_expires_at: stop.token.expiresAt.toISOString() }),
  };
  return { content: [{ type: 'text', text: stop.text }], structuredContent: structured };
}
