import { randomUUID } from 'node:crypto';
import type { ToolCall, ToolDefinition } from '@unity/core';
import { type ZodType, z } from 'zod';

/** What `extractTextToolCalls` found: real tool calls, and the text that is left once they are taken out. */
export interface TextToolCalls {
  toolCalls: ToolCall[];
  text: string;
}

const taggedPattern = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g;
const fencedPattern = /```[ \t]*([\w-]*)[ \t]*\r?\n([\s\S]*?)```/g;
const fenceLanguages = new Set(['', 'json', 'tool_call', 'tool_code', 'javascript', 'js']);

/**
 * Turn tool calls that a local model wrote as text into real tool calls. qwen2.5-coder through Ollama often answers a
 * tool request with bare JSON (`{"name":…,"arguments":…}`, `parameters` instead of `arguments`, or an array of
 * calls), with the JSON inside `<tool_call>…</tool_call>`, or inside a ``` fence. A candidate becomes tool calls only
 * when every call in it names an offered tool and its arguments match that tool's JSON schema; anything else stays
 * text, unchanged. Without offered tools nothing is converted.
 */
export function extractTextToolCalls(text: string, tools: readonly ToolDefinition[]): TextToolCalls {
  if (tools.length === 0 || text.trim() === '') return { toolCalls: [], text };
  const byName = new Map(tools.map((tool) => [tool.name, tool]));

  const whole = parseCandidate(text.trim(), byName);
  if (whole) return { toolCalls: whole, text: '' };

  const toolCalls: ToolCall[] = [];
  const replace = (match: string, body: string) => {
    const calls = parseCandidate(body.trim(), byName);
    if (!calls) return match;
    toolCalls.push(...calls);
    return '';
  };
  let rest = text.replace(taggedPattern, (match, body: string) => replace(match, body));
  rest = rest.replace(fencedPattern, (match, language: string, body: string) =>
    fenceLanguages.has(language.toLowerCase()) ? replace(match, body) : match,
  );
  if (toolCalls.length === 0) return { toolCalls: [], text };
  return { toolCalls, text: rest.trim() };
}

/**
 * While streaming: could text that starts like this still turn out to be a text tool call? True for an empty or
 * whitespace start, `{`, `[`, `<tool_call>` and a ``` fence whose language is JSON-like (or not yet known). Providers
 * hold content back while this is true and run `extractTextToolCalls` at the end.
 */
export function mayBeTextToolCall(text: string): boolean {
  const start = text.trimStart();
  if (start === '' || start.startsWith('{') || start.startsWith('[')) return true;
  if (start.startsWith('<tool_call>') || '<tool_call>'.startsWith(start)) return true;
  if ('```'.startsWith(start)) return true;
  if (start.startsWith('```')) {
    const newline = start.indexOf('\n');
    if (newline < 0) return true;
    return fenceLanguages.has(start.slice(3, newline).trim().toLowerCase());
  }
  return false;
}

/** Validate tool arguments against the tool's JSON schema. Returns the problems, empty when the arguments are valid. */
export function validateToolArguments(tool: ToolDefinition, args: Record<string, unknown>): string[] {
  const result = schemaFor(tool).safeParse(args);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`);
}

function parseCandidate(body: string, byName: Map<string, ToolDefinition>): ToolCall[] | undefined {
  if (!(body.startsWith('{') || body.startsWith('['))) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return undefined;
  const calls: ToolCall[] = [];
  for (const item of items) {
    const call = toToolCall(item, byName);
    if (!call) return undefined;
    calls.push(call);
  }
  return calls;
}

function toToolCall(item: unknown, byName: Map<string, ToolDefinition>): ToolCall | undefined {
  if (!isRecord(item)) return undefined;
  // Also accept the OpenAI wire shape written as text: {"type":"function","function":{"name":…,"arguments":…}}.
  const source = isRecord(item.function) ? item.function : item;
  const name = source.name;
  if (typeof name !== 'string') return undefined;
  const tool = byName.get(name);
  if (!tool) return undefined;
  let args: unknown = source.arguments ?? source.parameters ?? {};
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(args)) return undefined;
  if (validateToolArguments(tool, args).length > 0) return undefined;
  return { id: generateToolCallId(), name, arguments: args, rawArguments: JSON.stringify(args) };
}

const schemaCache = new WeakMap<object, ZodType>();

function schemaFor(tool: ToolDefinition): ZodType {
  const cached = schemaCache.get(tool.parameters);
  if (cached) return cached;
  let schema: ZodType;
  try {
    schema = z.fromJSONSchema(tool.parameters as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A schema zod cannot convert (remote $ref, unsupported keyword): check what matters most by hand.
    schema = requiredPropertiesSchema(tool.parameters);
  }
  schemaCache.set(tool.parameters, schema);
  return schema;
}

function requiredPropertiesSchema(parameters: Record<string, unknown>): ZodType {
  const required = Array.isArray(parameters.required)
    ? parameters.required.filter((key): key is string => typeof key === 'string')
    : [];
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    for (const key of required) {
      if (!(key in value)) ctx.addIssue({ code: 'custom', path: [key], message: 'required property is missing' });
    }
  });
}

/** An id for a tool call the upstream gave none for (Ollama, text tool calls): `call_` and 24 hex digits. */
export function generateToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Streams content through while it cannot be a text tool call, and holds it back while it might be one (see
 * `mayBeTextToolCall`); `finish` converts what was held. Without offered tools everything streams straight through.
 */
export class TextToolCallCollector {
  private held = '';
  private releasing: boolean;

  constructor(private readonly tools: readonly ToolDefinition[]) {
    this.releasing = tools.length === 0;
  }

  /** Text to emit now ('' while holding back). */
  push(delta: string): string {
    if (this.releasing) return delta;
    this.held += delta;
    if (mayBeTextToolCall(this.held)) return '';
    this.releasing = true;
    const text = this.held;
    this.held = '';
    return text;
  }

  /** The held text, unconverted (when the upstream sent real tool calls as well). */
  release(): string {
    const held = this.held;
    this.held = '';
    return held;
  }

  /** The held text with any tool calls taken out of it. */
  finish(): TextToolCalls {
    const held = this.held;
    this.held = '';
    return extractTextToolCalls(held, this.tools);
  }
}
