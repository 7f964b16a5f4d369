import type { ChatResponse, ToolDefinition } from '@unity/core';
import { z } from 'zod';
import { extractTextToolCalls, generateToolCallId } from '../../tool-call-text';
import { type FailureContext, responseMismatch } from '../http-errors';
import { splitThinkTags } from '../think-tags';
import { isNullishString, isNumber, isOptionalNumber, isOptionalString, isRecord, parseWire } from '../wire-check';
import { toTokenLogprob, wireLogprobSchema } from '../wire-logprobs';
import type { OpenAICompatibleFlavor } from './build-body';
import { throwIfBaseRespError } from './upstream-errors';
import {
  hasPlainReasoning,
  joinReasoning,
  reasoningFieldsSchema,
  reasoningOf,
  toFinishReason,
  toToolCall,
  toUsage,
} from './wire-fields';

export const completionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: reasoningFieldsSchema.extend({
          content: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({
                id: z.string().nullish(),
                function: z.object({ name: z.string(), arguments: z.string().nullish() }),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
        logprobs: z.object({ content: z.array(wireLogprobSchema).nullish() }).nullish(),
      }),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number().optional() })
    .nullish(),
});

/**
 * Accepts the common completions (text, reasoning, tool calls; no log probabilities) without zod, and only what
 * `completionSchema` accepts.
 */
export function isPlainCompletion(raw: unknown): boolean {
  if (!isRecord(raw) || !isOptionalString(raw.model) || !Array.isArray(raw.choices) || raw.choices.length === 0) {
    return false;
  }
  for (const choice of raw.choices) {
    if (!isRecord(choice) || !isNullishString(choice.finish_reason) || choice.logprobs != null) return false;
    const message = choice.message;
    if (!isRecord(message)) return false;
    if (!isNullishString(message.content) || !hasPlainReasoning(message)) return false;
    const calls = message.tool_calls;
    if (calls != null && !(Array.isArray(calls) && calls.every(isPlainToolCall))) return false;
  }
  const usage = raw.usage;
  if (usage == null) return true;
  return (
    isRecord(usage) &&
    isNumber(usage.prompt_tokens) &&
    isNumber(usage.completion_tokens) &&
    isOptionalNumber(usage.total_tokens)
  );
}

function isPlainToolCall(call: unknown): boolean {
  if (!isRecord(call) || !isNullishString(call.id)) return false;
  const fn = call.function;
  return isRecord(fn) && typeof fn.name === 'string' && isNullishString(fn.arguments);
}

export interface ParseOptions {
  flavor: OpenAICompatibleFlavor | undefined;
  /** Tools whose calls written as text become real calls (generic servers only). */
  textTools: readonly ToolDefinition[];
  /** The model asked for, reported when the answer names none. */
  model: string;
}

/**
 * A chat completion (its JSON body) as Unity's answer: the first choice, `<think>` reasoning split out except from
 * OpenAI, tool calls parsed (or found in the text), usage, finish reason and log probabilities. Throws a ProviderError
 * for MiniMax's `base_resp` failures and for a body that does not follow the protocol.
 */
export function parseChatCompletion(ctx: FailureContext, raw: unknown, options: ParseOptions): ChatResponse {
  throwIfBaseRespError(ctx, raw);
  const parsed = parseWire(completionSchema, isPlainCompletion, raw);
  if (!parsed.success) throw responseMismatch(ctx, 'chat completion', parsed.error);
  const choice = parsed.data.choices[0]!;
  const message = choice.message;
  let content = message.content ?? '';
  let reasoning = reasoningOf(message);
  if (options.flavor !== 'openai') {
    const split = splitThinkTags(content);
    content = split.text;
    reasoning = joinReasoning(reasoning, split.reasoning);
  }
  let toolCalls = (message.tool_calls ?? []).map((call) =>
    toToolCall(ctx, call.id || generateToolCallId(), call.function.name, call.function.arguments ?? ''),
  );
  if (toolCalls.length === 0) {
    const found = extractTextToolCalls(content, options.textTools);
    content = found.text;
    toolCalls = found.toolCalls;
  }
  return {
    content,
    toolCalls,
    ...(reasoning ? { reasoning } : {}),
    usage: toUsage(parsed.data.usage),
    finishReason: toolCalls.length > 0 ? 'tool_calls' : toFinishReason(choice.finish_reason),
    model: parsed.data.model ?? options.model,
    ...(choice.logprobs?.content?.length ? { logprobs: choice.logprobs.content.map(toTokenLogprob) } : {}),
  };
}
