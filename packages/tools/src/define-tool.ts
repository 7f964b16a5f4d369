import type { ToolDefinition } from '@unity/core';
import { z } from 'zod';
import { ToolError } from './errors';

/** What a tool receives besides its arguments. */
export interface ToolContext {
  signal?: AbortSignal;
}

/** A tool: its name, a description for the model, a zod schema for its arguments, and what it does. */
export interface Tool<Args = unknown, Result = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<Args>;
  execute(args: Args, context: ToolContext): Promise<Result>;
}

export function defineTool<S extends z.ZodType, Result>(tool: {
  name: string;
  description: string;
  schema: S;
  execute(args: z.output<S>, context: ToolContext): Promise<Result>;
}): Tool<z.output<S>, Result> {
  return tool as Tool<z.output<S>, Result>;
}

/** The tool as a model API sees it: name, description and a JSON Schema generated from the zod schema. */
export function toToolDefinition(tool: Tool): ToolDefinition {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.schema, { io: 'input' }) as Record<string, unknown>;
  return { name: tool.name, description: tool.description, parameters };
}

/**
 * Validate untrusted arguments against the tool's schema. On failure the error says, for the model, which field was
 * wrong, what was expected and what it got.
 */
export function parseToolArguments<Args>(tool: Tool<Args>, args: unknown): Args {
  const result = tool.schema.safeParse(args);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(arguments)';
    return `${path}: ${issue.message}`;
  });
  throw new ToolError({
    code: 'INVALID_ARGUMENTS',
    message: `${tool.name}: invalid arguments: ${problems.join('; ')}`,
    fix: `call ${tool.name} again with arguments matching its schema`,
  });
}
