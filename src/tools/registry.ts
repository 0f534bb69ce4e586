/**
 * The one registrar: turns tool definitions into MCP tools, hides write tools unless writes are allowed (keyed off
 * each tool's own readOnlyHint), and maps every failure to an isError result that names the error and the next step.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import type { Config } from '../config.js';
import { describeError, formatError } from '../aws/errors.js';
import type { ToolDefinition } from './types.js';

export interface RegistryDeps {
  client: MedicalImagingClient;
  config: Config;
}

/** The tools this configuration exposes, in a stable order. */
export function selectTools(tools: readonly ToolDefinition[], config: Config): ToolDefinition[] {
  return tools.filter((tool) => tool.annotations.readOnlyHint || config.allowWrite);
}

export function registerTools(server: McpServer, tools: readonly ToolDefinition[], deps: RegistryDeps): void {
  for (const tool of selectTools(tools, deps.config)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        ...(tool.outputSchema && { outputSchema: tool.outputSchema }),
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (args: Record<string, unknown>, extra): Promise<CallToolResult> => {
        try {
          const out = await tool.handler(args as never, { client: deps.client, config: deps.config, signal: extra.signal, extra });
          return {
            content: [{ type: 'text', text: out.text }, ...(out.content ?? [])],
            ...(out.structured !== undefined && { structuredContent: out.structured as Record<string, unknown> }),
          };
        } catch (err) {
          const described = describeError(err);
          return { isError: true, content: [{ type: 'text', text: formatError(described) }] };
        }
      },
    );
  }
}
