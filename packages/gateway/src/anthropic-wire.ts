import { randomUUID } from 'node:crypto';
import type { FinishReason, ToolCall } from '@unity/core';
import { formatError } from '@unity/core';
import type { ChatWire } from './chat-wire';
import type { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';

// Anthropic's Messages API on the wire: the Message object, its SSE events and its error shape, as the official
// `@anthropic-ai/sdk` types declare them (resources/messages/messages.d.ts, resources/shared.d.ts).

type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/**
 * The router's finish reason as Anthropic's stop reason. A stop sequence ends an answer as `stop` on every upstream
 * the router speaks (none says which sequence matched), so it is reported as `end_turn`.
 */
function stopReason(reason: FinishReason): StopReason {
  if (reason === 'length') return 'max_tokens';
  if (reason === 'tool_calls') return 'tool_use';
  if (reason === 'content_filter') return 'refusal';
  return 'end_turn';
}

/** Anthropic's error type for a status (shared.d.ts: ErrorType). */
function errorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
  }
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

/** Anthropic's error body: `{type: "error", error: {type, message}}`, the fix on a line of its own in the message. */
export function anthropicErrorBody(error: GatewayError) {
  return { type: 'error', error: { type: errorType(error.status), message: formatError(error) }, request_id: null };
}

const toolUseBlock = (call: ToolCall) => ({
  type: 'tool_use' as const,
  id: call.id,
  name: call.name,
  input: call.arguments,
});

function usageOf(r: GatewayChatResponse) {
  return {
    input_tokens: r.usage.inputTokens,
    output_tokens: r.usage.outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

/** The content blocks of a whole answer: thinking, text, tool uses. */
function contentOf(r: GatewayChatResponse) {
  const blocks: Record<string, unknown>[] = [];
  if (r.reasoning) blocks.push({ type: 'thinking', thinking: r.reasoning, signature: '' });
  if (r.content !== '' || r.toolCalls.length === 0) blocks.push({ type: 'text', text: r.content, citations: null });
  for (const call of r.toolCalls) blocks.push(toolUseBlock(call));
  return blocks;
}

const sse = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * The SSE events of one streamed message: message_start and a ping; for each content block its start, deltas
 * (text_delta, thinking_delta, input_json_delta) and stop; then message_delta with the stop reason and usage, and
 * message_stop. A failure after the commit point is an `error` event, never a clean end.
 */
class AnthropicEventStream {
  private index = -1;
  private open: 'text' | 'thinking' | undefined;

  constructor(
    private readonly id: string,
    private readonly model: string,
  ) {}

  start(): string {
    return (
      sse('message_start', {
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      }) + sse('ping', {})
    );
  }

  delta(kind: 'text' | 'thinking', text: string): string {
    let out = '';
    if (this.open !== kind) {
      out += this.close();
      this.open = kind;
      this.index++;
      const block =
        kind === 'text'
          ? { type: 'text', text: '', citations: null }
          : { type: 'thinking', thinking: '', signature: '' };
      out += sse('content_block_start', { index: this.index, content_block: block });
    }
    const delta = kind === 'text' ? { type: 'text_delta', text } : { type: 'thinking_delta', thinking: text };
    return out + sse('content_block_delta', { index: this.index, delta });
  }

  toolUse(call: ToolCall): string {
    let out = this.close();
    this.index++;
    out += sse('content_block_start', { index: this.index, content_block: { ...toolUseBlock(call), input: {} } });
    out += sse('content_block_delta', {
      index: this.index,
      delta: { type: 'input_json_delta', partial_json: JSON.stringify(call.arguments) },
    });
    return out + sse('content_block_stop', { index: this.index });
  }

  finish(r: GatewayChatResponse): string {
    let out = this.close();
    // Nothing streamed (a cached answer arrives whole): its blocks, each started and stopped.
    if (this.index < 0) {
      for (const block of contentOf(r)) {
        this.index++;
        out += sse('content_block_start', { index: this.index, content_block: block });
        out += sse('content_block_stop', { index: this.index });
      }
    }
    return (
      out +
      sse('message_delta', {
        delta: { stop_reason: stopReason(r.finishReason), stop_sequence: null },
        usage: usageOf(r),
      }) +
      sse('message_stop', {})
    );
  }

  private close(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return sse('content_block_stop', { index: this.index });
  }
}

/** Anthropic Messages: a Message as JSON, or its SSE events; errors in Anthropic's shape. */
export function anthropicWire(model: string): ChatWire {
  const id = `msg_${randomUUID().replace(/-/g, '')}`;
  const events = new AnthropicEventStream(id, model);
  return {
    endpoint: 'anthropic.messages',
    streamContentType: 'text/event-stream; charset=utf-8',
    completion: (r) => ({
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: contentOf(r),
      stop_reason: stopReason(r.finishReason),
      stop_sequence: null,
      usage: usageOf(r),
    }),
    streamStart: () => events.start(),
    streamEvent: (event: GatewayStreamEvent) => {
      switch (event.type) {
        case 'text-delta':
          return event.text === '' ? '' : events.delta('text', event.text);
        case 'reasoning-delta':
          return event.text === '' ? '' : events.delta('thinking', event.text);
        case 'tool-call':
          return events.toolUse(event.toolCall);
        case 'finish':
          return events.finish(event.response);
        default:
          return '';
      }
    },
    streamError: (error) => sse('error', { error: anthropicErrorBody(error).error }),
    errorBody: anthropicErrorBody,
  };
}
