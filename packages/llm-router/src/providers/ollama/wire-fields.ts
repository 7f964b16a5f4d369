import type { FinishReason, ToolCall, Usage } from '@unity/core';
import { z } from 'zod';
import { generateToolCallId } from '../../tool-call-text';
import { badResponse, type FailureContext } from '../http-errors';
import { isOptionalNumber, isOptionalString, isRecord } from '../wire-check';
import { wireLogprobSchema } from '../wire-logprobs';

const toolCallSchema = z.object({
  id: z.string().optional(),
  function: z.object({
    name: z.string(),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  }),
});
type WireToolCall = z.infer<typeof toolCallSchema>;

/** An `/api/chat` answer, or one line of its stream. */
export const chatSchema = z.object({
  model: z.string().optional(),
  logprobs: z.array(wireLogprobSchema).nullish(),
  message: z.object({
    content: z.string().optional(),
    thinking: z.string().optional(),
    tool_calls: z.array(toolCallSchema).nullish(),
  }),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
});
export type ChatPart = z.infer<typeof chatSchema>;

/**
 * Accepts the common `/api/chat` answers and stream lines (text and thinking; no tool calls or log probabilities)
 * without zod, and only what `chatSchema` accepts.
 */
export function isPlainChatPart(raw: unknown): boolean {
  if (!isRecord(raw) || !isOptionalString(raw.model) || raw.logprobs != null) return false;
  const message = raw.message;
  if (!isRecord(message) || !isOptionalString(message.content) || !isOptionalString(message.thinking)) return false;
  if (message.tool_calls != null) return false;
  return (
    isOptionalString(raw.done_reason) && isOptionalNumber(raw.prompt_eval_count) && isOptionalNumber(raw.eval_count)
  );
}

/** Ollama's tool call (arguments an object; a string from some servers) → Unity's, with an id when Ollama gave none. */
export function toToolCall(ctx: FailureContext, call: WireToolCall): ToolCall {
  const id = call.id || generateToolCallId();
  const args = call.function.arguments ?? {};
  if (typeof args !== 'string')
    return { id, name: call.function.name, arguments: args, rawArguments: JSON.stringify(args) };
  let parsed: unknown;
  try {
    parsed = args.trim() === '' ? {} : JSON.parse(args);
  } catch (error) {
    throw badResponse(
      ctx,
      `the arguments of tool call ${call.function.name} are not valid JSON: ${args.slice(0, 200)}`,
      error,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badResponse(ctx, `the arguments of tool call ${call.function.name} are not a JSON object`);
  }
  return { id, name: call.function.name, arguments: parsed as Record<string, unknown>, rawArguments: args };
}

export function toUsage(part: ChatPart): Usage {
  const inputTokens = part.prompt_eval_count ?? 0;
  const outputTokens = part.eval_count ?? 0;
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

export function toFinishReason(reason: string | undefined, toolCalls: boolean): FinishReason {
  if (toolCalls) return 'tool_calls';
  if (reason === 'stop' || reason === 'length') return reason;
  return reason === undefined ? 'stop' : 'other';
}
