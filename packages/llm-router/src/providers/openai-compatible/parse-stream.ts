import { emptyUsage, type FinishReason, type TokenLogprob, type Usage } from '@unity/core';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { StreamEvent } from '../../provider';
import { generateToolCallId, TextToolCallCollector } from '../../tool-call-text';
import { contentEvents, textDelta } from '../content-events';
import { badResponse, type FailureContext, streamCut } from '../http-errors';
import { ThinkTagSplitter } from '../think-tags';
import { toTokenLogprob, type WireLogprob } from '../wire-logprobs';
import type { ParseOptions } from './parse-response';
import { streamedError, throwIfBaseRespError } from './upstream-errors';
import { type ReasoningFields, reasoningOf, toFinishReason, toToolCall, toUsage, type WireUsage } from './wire-fields';

const streaming = { stream: true } as const;

interface Chunk {
  model?: string;
  usage?: WireUsage | null;
  choices?: Array<{
    delta?: ReasoningFields & {
      content?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
    logprobs?: { content?: WireLogprob[] | null } | null;
  }>;
}

/**
 * Chat Completions' SSE stream → Unity's stream events, incrementally: `push` each piece of the body as it arrives
 * and emit the events it returns, then `finish` once the body ended. Reasoning and text go out as they come (text
 * held back only while it may be a tool call written as text), tool-call deltas are assembled by index and emitted
 * at the end, then one `finish`. Events after `[DONE]` are ignored. Throws a ProviderError for an `{"error"}` event,
 * a MiniMax `base_resp` failure, an event that is not JSON, and a stream that ends without a finish reason.
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
    return this.onChunk(raw as Chunk);
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
