import type { ChatResponse, ToolDefinition } from '@unity/core';
import { extractTextToolCalls } from '../../tool-call-text';
import { type FailureContext, responseMismatch } from '../http-errors';
import { splitThinkTags } from '../think-tags';
import { parseWire } from '../wire-check';
import { toTokenLogprob } from '../wire-logprobs';
import { chatSchema, isPlainChatPart, toFinishReason, toToolCall, toUsage } from './wire-fields';

/**
 * A non-streamed `/api/chat` answer as Unity's: `thinking` and `<think>` reasoning, native tool calls (or tool calls
 * written as text, for the offered `tools`), usage, finish reason and log probabilities. Throws BAD_RESPONSE for a
 * body that does not follow the protocol.
 */
export function parseChatResponse(
  ctx: FailureContext,
  raw: unknown,
  tools: readonly ToolDefinition[],
  model: string,
): ChatResponse {
  const parsed = parseWire(chatSchema, isPlainChatPart, raw);
  if (!parsed.success) throw responseMismatch(ctx, '/api/chat response', parsed.error);
  const part = parsed.data;
  const split = splitThinkTags(part.message.content ?? '');
  const reasoning = [part.message.thinking, split.reasoning].filter(Boolean).join('\n');
  let toolCalls = (part.message.tool_calls ?? []).map((call) => toToolCall(ctx, call));
  let content = split.text;
  if (toolCalls.length === 0) {
    const found = extractTextToolCalls(split.text, tools);
    content = found.text;
    toolCalls = found.toolCalls;
  }
  return {
    content,
    toolCalls,
    ...(reasoning ? { reasoning } : {}),
    usage: toUsage(part),
    finishReason: toFinishReason(part.done_reason, toolCalls.length > 0),
    model: part.model ?? model,
    ...(part.logprobs?.length ? { logprobs: part.logprobs.map(toTokenLogprob) } : {}),
  };
}
