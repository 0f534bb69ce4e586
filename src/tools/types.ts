/** Tools are plain definitions; src/tools/registry.ts turns them into MCP tools. */
import type { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ContentBlock, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { FileAccess } from '../guard/paths.js';

/** The toolsets: groups of tools an operator can expose or leave out as a whole (`--toolsets`). */
export const TOOLSETS = ['datastores', 'image_sets', 'import_jobs', 'edit', 'delete', 'tags', 'dicomweb'] as const;
export type Toolset = (typeof TOOLSETS)[number];

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolContext {
  client: MedicalImagingClient;
  config: Config;
  /** Files on the server's machine, confined to the allowed directories. */
  files: FileAccess;
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

/** What a guarded write would do, worked out before anything is written. */
export interface WritePreview<S> {
  /** One line naming the action and its target, e.g. `Delete image set … (version 3) in datastore …`. */
  action: string;
  /** Exactly what will change, one line each (for updates: the attribute diff). */
  changes: string[];
  /**
   * The state of the target the confirmation is bound to (version IDs, or a digest): a confirmation given for one
   * state is refused once the target has moved on. IDs and digests only, never DICOM values.
   */
  version: string;
  /** The tool's structured result describing the target as it is now, for outcomes that change nothing. */
  current: S;
}

/**
 * How a write tool is guarded, declared as data so the registrar applies one flow to every tool: which calls need a
 * person's confirmation, and how to resolve and check the target and describe the change before asking.
 */
export interface WriteGuard<A, S> {
  /** Why this call needs confirmation (shown to the person), or undefined when it may go ahead unconfirmed. */
  confirmation(args: A): string | undefined;
  /**
   * Resolves and checks the target (exists, ACTIVE, `latest_version_id` current) and describes the change; throws
   * when the change cannot go ahead. Reads only.
   */
  preview(args: A, ctx: ToolContext): Promise<WritePreview<S>>;
  /** True when the call asks only for the preview (`dry_run`): it is returned and nothing is written. */
  dryRun?(args: A): boolean;
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  /**
   * What the tool acts on. `datastore` (the default): one datastore, named by `datastore_id` or `resource_arn`.
   * `account`: the account's datastores as a whole (listing, creating); under `--datastore-ids` such writes are not
   * offered, and listings show only the allowed datastores.
   */
  scope?: 'datastore' | 'account';
  inputSchema: I;
  outputSchema?: O;
  annotations: ToolAnnotations;
  /** Write tools only: which calls need confirmation and what they would change. */
  guard?: WriteGuard<z.output<z.ZodObject<I>>, z.output<z.ZodObject<O>>>;
  handler: (args: z.output<z.ZodObject<I>>, ctx: ToolContext) => Promise<ToolOutput<z.output<z.ZodObject<O>>>>;
}

/** Identity function that checks a tool definition and infers its argument types. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(definition: ToolDefinition<I, O>): ToolDefinition {
  return definition as unknown as ToolDefinition;
}

export const READ: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
