import { emptyUsage, type FinishReason, type ToolCall, type Usage } from '@unity/core';
import { z } from 'zod';
import { badResponse, type FailureContext } from '../http-errors';
import { isNullishString, isRecord } from '../wire-check';

/** Where compatible servers put reasoning: MiniMax's `reasoning_details`, DeepSeek's and vLLM's fields. */
export const reasoningFieldsSchema = z.object({
  reasoning_details: z.array(z.object({ text: z.string().nullish() })).nullish(),
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
});
type ReasoningFields = z.infer<typeof reasoningFieldsSchema>;

/** Accepts, without zod, only reasoning fields that `reasoningFieldsSchema` accepts (of a message or a delta). */
export function hasPlainReasoning(fields: Record<string, unknown>): boolean {
  if (!isNullishString(fields.reasoning_content) || !isNullishString(fields.reasoning)) return false;
  const details = fields.reasoning_details;
  return details == null || (Array.isArray(details) && details.every((d) => isRecord(d) && isNullishString(d.text)));
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** The reasoning of a message or delta, from whichever field carries it. */
export function reasoningOf(fields: ReasoningFields): string | undefined {
  const details = fields.reasoning_details
    ?.map((d) => d.text ?? '')
    .filter((t) => t !== '')
    .join('');
  return details || fields.reasoning_content || fields.reasoning || undefined;
}

/** Two pieces of reasoning as one (a reasoning field and `<think>` content). */
export function joinReasoning(a: string | undefined, b: string | undefined): string | undefined {
  if (a && b) return `${a}\n${b}`;
  return a || b || undefined;
}

/** A tool call from its wire fields: arguments are a JSON object in a string (empty meaning none). */
export function toToolCall(ctx: FailureContext, id: string, name: string, rawArguments: string): ToolCall {
  if (rawArguments.trim() === '') return { id, name, arguments: {}, rawArguments };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawArguments);
  } catch (error) {
    throw badResponse(
      ctx,
      `the arguments of tool call ${name} are not valid JSON: ${rawArguments.slice(0, 200)}`,
      error,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badResponse(ctx, `the arguments of tool call ${name} are not a JSON object: ${rawArguments.slice(0, 200)}`);
  }
  return { id, name, arguments: parsed as Record<string, unknown>, rawArguments };
}

export function toUsage(usage: WireUsage | null | undefined): Usage {
  if (!usage) return emptyUsage();
  const inputTokens = usage.prompt_tokens ?? 0;
  const outputTokens = usage.completion_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: usage.total_tokens ?? inputTokens + outputTokens };
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    case null:
    case undefined:
      return 'stop';
    default:
      return 'other';
  }
}
