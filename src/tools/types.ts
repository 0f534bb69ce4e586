/** Tools are plain definitions; src/tools/registry.ts turns them into MCP tools. */
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ContentBlock, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Config } from '../config.js';

export type Toolset = 'datastores' | 'import_jobs' | 'image_sets' | 'edit' | 'delete' | 'tags';

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolContext {
  client: MedicalImagingClient;
  config: Config;
  signal: AbortSignal;
  extra: RequestHandlerExtra<ServerRequest, ServerNotification>;
}

export interface ToolOutput<S> {
  /** What the model reads: short, with the IDs its next call needs. */
  text: string;
  structured?: S;
  /** Blocks after the text: resource links, images, embedded resources. */
  content?: ContentBlock[];
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  inputSchema: I;
  outputSchema?: O;
  annotations: ToolAnnotations;
  handler: (args: z.output<z.ZodObject<I>>, ctx: ToolContext) => Promise<ToolOutput<z.output<z.ZodObject<O>>>>;
}

/** Identity function that checks a tool definition and infers its argument types. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(definition: ToolDefinition<I, O>): ToolDefinition {
  return definition as unknown as ToolDefinition;
}

export const READ: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
