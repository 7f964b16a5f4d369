import type { TokenLogprob, ToolDefinition } from '@unity/core';
import type { StreamEvent } from '../../provider';
import { TextToolCallCollector } from '../../tool-call-text';
import { contentEvents, textDelta } from '../content-events';
import { badResponse, type FailureContext, responseMismatch, streamCut, upstreamError } from '../http-errors';
import { ThinkTagSplitter } from '../think-tags';
import { parseWire } from '../wire-check';
import { toTokenLogprob } from '../wire-logprobs';
import { LineSplitter } from './ndjson';
import { type ChatPart, chatSchema, isPlainChatPart, toFinishReason, toToolCall, toUsage } from './wire-fields';

/**
 * `/api/chat`'s NDJSON stream → Unity's stream events, incrementally: `push` each piece of the body as it arrives and
 * emit the events it yields, then `finish` once the body ended. Thinking and text go out as they come (text held back
 * only while it may be a tool call written as text), native tool calls at once, then one `finish` from the
 * `done: true` line; lines after it are ignored. Throws a ProviderError for a line that is not JSON (BAD_RESPONSE), an
 * `{"error"}` line (UPSTREAM_ERROR, as Ollama reports failures during a 200 stream), a partial last line and a stream
 * without its done line (STREAM_CUT).
 */
export class ChatStreamParser {
  private readonly lines = new LineSplitter();
  private readonly think = new ThinkTagSplitter();
  private readonly collector: TextToolCallCollector;
  private readonly logprobs: TokenLogprob[] = [];
  private last: ChatPart | undefined;
  private nativeCalls = 0;
  /** The done (or `status: success`) line was read: the rest of the body is not looked at. */
  private stopped = false;

  constructor(
    private readonly ctx: FailureContext,
    tools: readonly ToolDefinition[],
    private readonly model: string,
  ) {
    this.collector = new TextToolCallCollector(tools);
  }

  /** Feed a piece of the body; yields the events of the lines it completes, throwing at the first bad line. */
  *push(chunk: Uint8Array | string): Generator<StreamEvent, void> {
    if (this.stopped) return;
    for (const line of this.lines.push(chunk)) {
      if (this.stopped) return;
      yield* this.onLine(line);
    }
  }

  /** The closing events once the body ended: the last line if unterminated, held text, and `finish`. */
  *finish(): Generator<StreamEvent, void> {
    const rest = this.lines.end();
    if (!this.stopped && rest.trim() !== '') {
      try {
        JSON.parse(rest);
      } catch {
        throw streamCut(this.ctx, `the last line was cut short: ${rest.slice(0, 200)}`);
      }
      yield* this.onLine(rest);
    }
    const last = this.last;
    if (!last) throw streamCut(this.ctx, 'the stream ended without its done:true line');
    yield* contentEvents(this.think.flush(), this.collector, this.logprobs);
    const found = this.nativeCalls > 0 ? { toolCalls: [], text: this.collector.release() } : this.collector.finish();
    if (found.text !== '') yield textDelta(found.text, this.logprobs);
    for (const toolCall of found.toolCalls) yield { type: 'tool-call', toolCall };
    yield {
      type: 'finish',
      finishReason: toFinishReason(last.done_reason, this.nativeCalls + found.toolCalls.length > 0),
      usage: toUsage(last),
      model: last.model ?? this.model,
    };
  }

  private onLine(line: string): StreamEvent[] {
    if (line.trim() === '') return [];
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw badResponse(this.ctx, `a stream line is not JSON: ${line.slice(0, 200)}`, error);
    }
    const reported = (value as { error?: unknown } | null)?.error;
    if (reported !== undefined) throw upstreamError(this.ctx, String(reported));
    const parsed = parseWire(chatSchema, isPlainChatPart, value);
    if (!parsed.success) throw responseMismatch(this.ctx, '/api/chat stream line', parsed.error);
    const part = parsed.data;
    const out: StreamEvent[] = [];
    if (part.logprobs) for (const entry of part.logprobs) this.logprobs.push(toTokenLogprob(entry));
    if (part.message.thinking) out.push({ type: 'reasoning-delta', text: part.message.thinking });
    if (part.message.content) {
      for (const event of contentEvents(this.think.push(part.message.content), this.collector, this.logprobs)) {
        out.push(event);
      }
    }
    for (const call of part.message.tool_calls ?? []) {
      this.nativeCalls++;
      out.push({ type: 'tool-call', toolCall: toToolCall(this.ctx, call) });
    }
    const { done, status } = value as { done?: unknown; status?: unknown };
    if (done === true) this.last = part;
    // As the official client: a truthy `done` (or a pull's `success`) ends the stream.
    if (done || status === 'success') this.stopped = true;
    return out;
  }
}
