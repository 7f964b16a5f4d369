import type { ToolCall, ToolDefinition } from '@unity/core';
import { z } from 'zod';
import { ToolError } from './errors';

/** What a tool receives besides its arguments. */
export interface ToolContext {
  /** Aborted when the call is cancelled or its time is up: tools stop work and release what they hold. */
  signal?: AbortSignal;
  /** The call being carried out (its id is recorded as provenance, e.g. by the memory store). */
  call?: ToolCall;
  /** The id of the run this call belongs to, when the host gave one. */
  runId?: string;
  /** Ask the host to approve something the policy will not allow on its own; resolves false when nobody approves. */
  approve?: (reason: string) => Promise<boolean>;
}

/** A tool: its name, a description for the model, a zod schema for its arguments, and what it does. */
export interface Tool<Args = unknown, Result = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<Args>;
  /** True when the tool changes nothing: the executor runs such calls in parallel. Default false. */
  readOnly?: boolean;
  execute(args: Args, context: ToolContext): Promise<Result>;
}

export function defineTool<S extends z.ZodType, Result>(tool: {
  name: string;
  description: string;
  schema: S;
  readOnly?: boolean;
  execute(args: z.output<S>, context: ToolContext): Promise<Result>;
}): Tool<z.output<S>, Result> {
  return tool as Tool<z.output<S>, Result>;
}

/** The tool as a model API sees it: name, description and a JSON Schema generated from the zod schema. */
export function toToolDefinition(tool: Tool): ToolDefinition {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.schema, { io: 'input' }) as Record<string, unknown>;
  return { name: tool.name, description: tool.description, parameters };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value == null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, args: unknown): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(arguments)';
  if (issue.code === 'invalid_type') {
    const got = valueAt(args, issue.path);
    return `${path}: expected ${issue.expected}, got ${got === undefined ? 'nothing (it is required)' : typeName(got)}`;
  }
  return `${path}: ${issue.message}`;
}

/**
 * Validate untrusted arguments against the tool's schema. On failure the error says, for the model, which field was
 * wrong, what was expected and what it got: `read_file: invalid arguments: path: expected string, got number`.
 */
export function parseToolArguments<Args>(tool: Tool<Args>, args: unknown): Args {
  const result = tool.schema.safeParse(args);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(issue, args));
  throw new ToolError({
    code: 'INVALID_ARGUMENTS',
    message: `${tool.name}: invalid arguments: ${problems.join('; ')}`,
    fix: `call ${tool.name} again with arguments matching its schema`,
  });
}
