import { emptyUsage, type FinishReason, type TokenLogprob, type Usage } from '@unity/core';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import { z } from 'zod';
import type { StreamEvent } from '../../provider';
import { generateToolCallId, TextToolCallCollector } from '../../tool-call-text';
import { contentEvents, textDelta } from '../content-events';
import { badResponse, type FailureContext, responseMismatch, streamCut } from '../http-errors';
import { ThinkTagSplitter } from '../think-tags';
import { isNullishString, isOptionalNumber, isRecord, parseWire } from '../wire-check';
import { toTokenLogprob, wireLogprobSchema } from '../wire-logprobs';
import type { ParseOptions } from './parse-response';
import { streamedError, throwIfBaseRespError } from './upstream-errors';
import {
  hasPlainReasoning,
  reasoningFieldsSchema,
  reasoningOf,
  toFinishReason,
  toToolCall,
  toUsage,
} from './wire-fields';

const streaming = { stream: true } as const;

/**
 * One event of the stream. More lenient than `completionSchema` where servers are: nulls for absent fields, no
 * choices (the usage chunk), a delta without its fields, usage counts each optional.
 */
export const chunkSchema = z.object({
  model: z.string().nullish(),
  usage: z
    .object({
      prompt_tokens: z.number().optional(),
      completion_tokens: z.number().optional(),
      total_tokens: z.number().optional(),
    })
    .nullish(),
  choices: z
    .array(
      z.object({
        delta: reasoningFieldsSchema
          .extend({
            content: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z.number().nullish(),
                  id: z.string().nullish(),
                  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
        logprobs: z.object({ content: z.array(wireLogprobSchema).nullish() }).nullish(),
      }),
    )
    .nullish(),
});
type Chunk = z.infer<typeof chunkSchema>;

/**
 * Accepts the common chunks (text, reasoning and tool-call deltas, finish reason, usage; no log probabilities)
 * without zod, and only what `chunkSchema` accepts.
 */
export function isPlainChunk(raw: unknown): boolean {
  if (!isRecord(raw) || !isNullishString(raw.model)) return false;
  const usage = raw.usage;
  if (
    usage != null &&
    !(
      isRecord(usage) &&
      isOptionalNumber(usage.prompt_tokens) &&
      isOptionalNumber(usage.completion_tokens) &&
      isOptionalNumber(usage.total_tokens)
    )
  ) {
    return false;
  }
  return raw.choices == null || (Array.isArray(raw.choices) && raw.choices.every(isPlainChoice));
}

function isPlainChoice(choice: unknown): boolean {
  if (!isRecord(choice) || !isNullishString(choice.finish_reason) || choice.logprobs != null) return false;
  const delta = choice.delta;
  if (delta == null) return true;
  if (!isRecord(delta) || !isNullishString(delta.content) || !hasPlainReasoning(delta)) return false;
  const calls = delta.tool_calls;
  return calls == null || (Array.isArray(calls) && calls.every(isPlainToolCallDelta));
}

function isPlainToolCallDelta(call: unknown): boolean {
  if (!isRecord(call) || !isOptionalNumber(call.index) || !isNullishString(call.id)) return false;
  const fn = call.function;
  return fn == null || (isRecord(fn) && isNullishString(fn.name) && isNullishString(fn.arguments));
}

/**
 * Chat Completions' SSE stream → Unity's stream events, incrementally: `push` each piece of the body as it arrives
 * and emit the events it returns, then `finish` once the body ended. Reasoning and text go out as they come (text
 * held back only while it may be a tool call written as text), tool-call deltas are assembled by index and emitted
 * at the end, then one `finish`. Events after `[DONE]` are ignored. Throws a ProviderError for an `{"error"}` event,
 * a MiniMax `base_resp` failure, an event that is not JSON or not a chunk (`chunkSchema`: BAD_RESPONSE, naming the
 * path), and a stream that ends without a finish reason.
 */
export class ChatStreamParser {
  private readonly sse: EventSourceParser;
  private readonly think: ThinkTagSplitter | undefined;
  private readonly collector: TextToolCallCollector;
  private readonly partialCalls = new Map<number, { id?: string; name: string; args: string }>();
  private readonly logprobs: TokenLogprob[] = [];
  private finishReason: FinishReason | undefined;
  private usage: Usage = emptyUsage();
  private model: string;
  private done = false;
  private readonly decoder = new TextDecoder();
  /** The data of the events the SSE parser completed during the current `push`. */
  private received: string[] = [];

  constructor(
    private readonly ctx: FailureContext,
    options: ParseOptions,
  ) {
    this.think = options.flavor === 'openai' ? undefined : new ThinkTagSplitter();
    this.collector = new TextToolCallCollector(options.textTools);
    this.model = options.model;
    this.sse = createParser({ onEvent: (event) => this.received.push(event.data) });
  }

  /**
   * Feed a piece of the body (split anywhere: events, lines and characters may be cut); yields the events it
   * completes, and throws at the first bad SSE event after yielding those before it.
   */
  *push(chunk: Uint8Array | string): Generator<StreamEvent, void> {
    if (this.done) return;
    this.sse.feed(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, streaming));
    if (this.received.length === 0) return;
    const received = this.received;
    this.received = [];
    for (const data of received) yield* this.onEvent(data);
  }

  /** The closing events once the body ended: held text, assembled tool calls, and `finish`. */
  *finish(): Generator<StreamEvent, void> {
    if (this.finishReason === undefined) throw streamCut(this.ctx, 'the stream ended without a finish_reason');
    yield* contentEvents(this.think?.flush() ?? [], this.collector, this.logprobs);
    const found =
      this.partialCalls.size === 0 ? this.collector.finish() : { toolCalls: [], text: this.collector.release() };
    if (found.text !== '') yield textDelta(found.text, this.logprobs);
    const toolCalls = [
      ...[...this.partialCalls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, call]) => toToolCall(this.ctx, call.id || generateToolCallId(), call.name, call.args)),
      ...found.toolCalls,
    ];
    for (const toolCall of toolCalls) yield { type: 'tool-call', toolCall };
    yield {
      type: 'finish',
      finishReason: toolCalls.length > 0 ? 'tool_calls' : this.finishReason,
      usage: this.usage,
      model: this.model,
    };
  }

  private onEvent(data: string): StreamEvent[] {
    if (this.done) return [];
    if (data.startsWith('[DONE]')) {
      this.done = true;
      return [];
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch (error) {
      throw badResponse(this.ctx, `a stream event is not JSON: ${data.slice(0, 200)}`, error);
    }
    if (typeof raw !== 'object' || raw === null) {
      throw badResponse(this.ctx, `a stream event is not a JSON object: ${data.slice(0, 200)}`);
    }
    const reported = (raw as { error?: unknown }).error;
    if (reported) throw streamedError(this.ctx, reported);
    throwIfBaseRespError(this.ctx, raw);
    const parsed = parseWire(chunkSchema, isPlainChunk, raw);
    if (!parsed.success) throw responseMismatch(this.ctx, 'chat completion chunk', parsed.error);
    return this.onChunk(parsed.data);
  }

  private onChunk(chunk: Chunk): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model;
    if (chunk.usage) this.usage = toUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    for (const entry of choice.logprobs?.content ?? []) this.logprobs.push(toTokenLogprob(entry));
    const reasoning = reasoningOf(delta);
    if (reasoning) out.push({ type: 'reasoning-delta', text: reasoning });
    if (typeof delta.content === 'string' && delta.content !== '') {
      const pieces = this.think ? this.think.push(delta.content) : [{ type: 'text' as const, text: delta.content }];
      for (const event of contentEvents(pieces, this.collector, this.logprobs)) out.push(event);
    }
    for (const call of delta.tool_calls ?? []) {
      const index = call.index ?? 0;
      let partial = this.partialCalls.get(index);
      if (!partial) {
        partial = { name: '', args: '' };
        this.partialCalls.set(index, partial);
      }
      if (call.id) partial.id = call.id;
      if (call.function?.name) partial.name += call.function.name;
      if (call.function?.arguments) partial.args += call.function.arguments;
    }
    if (choice.finish_reason) this.finishReason = toFinishReason(choice.finish_reason);
    return out;
  }
}
