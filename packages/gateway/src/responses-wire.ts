import { randomUUID } from 'node:crypto';
import type { TokenLogprob, ToolCall } from '@unity/core';
import { formatError } from '@unity/core';
import type { ChatWire } from './chat-wire';
import type { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';
import { openaiErrorBody } from './openai-wire';
import type { ResponsesBody } from './responses-request';

// OpenAI's Responses API on the wire: the Response object and its typed SSE events, shaped as the official `openai`
// package's types declare them (openai/resources/responses/responses.d.ts).

const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

interface OutputTextPart {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: ReturnType<typeof wireLogprob>[];
}
interface MessageItem {
  id: string;
  type: 'message';
  status: ItemStatus;
  role: 'assistant';
  content: OutputTextPart[];
}
interface ReasoningItem {
  id: string;
  type: 'reasoning';
  summary: never[];
  content: { type: 'reasoning_text'; text: string }[];
}
interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}
type OutputItem = MessageItem | ReasoningItem | FunctionCallItem;

const wireLogprob = (l: TokenLogprob) => ({
  token: l.token,
  logprob: l.logprob,
  bytes: l.bytes ?? [...Buffer.from(l.token)],
  top_logprobs: l.top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes ?? [...Buffer.from(t.token)] })),
});

const textPart = (text: string, logprobs: TokenLogprob[] = []): OutputTextPart => ({
  type: 'output_text',
  text,
  annotations: [],
  logprobs: logprobs.map(wireLogprob),
});

const functionCallItem = (call: ToolCall, status: ItemStatus): FunctionCallItem => ({
  id: newId('fc'),
  type: 'function_call',
  status,
  call_id: call.id,
  name: call.name,
  arguments: call.rawArguments || JSON.stringify(call.arguments),
});

/** `incomplete` when the answer was cut: by the output cap (`length`) or a content filter. */
function statusOf(r: GatewayChatResponse): { status: 'completed' | 'incomplete'; reason?: string } {
  if (r.finishReason === 'length') return { status: 'incomplete', reason: 'max_output_tokens' };
  if (r.finishReason === 'content_filter') return { status: 'incomplete', reason: 'content_filter' };
  return { status: 'completed' };
}

const wireUsage = (r: GatewayChatResponse) => ({
  input_tokens: r.usage.inputTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: r.usage.outputTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: r.usage.totalTokens,
});

/** The output items of a whole answer: its reasoning, its text, its function calls. */
function outputOf(r: GatewayChatResponse, status: ItemStatus): OutputItem[] {
  const items: OutputItem[] = [];
  if (r.reasoning) {
    items.push({
      id: newId('rs'),
      type: 'reasoning',
      summary: [],
      content: [{ type: 'reasoning_text', text: r.reasoning }],
    });
  }
  if (r.content !== '' || r.toolCalls.length === 0) {
    items.push({
      id: newId('msg'),
      type: 'message',
      status,
      role: 'assistant',
      content: [textPart(r.content, r.logprobs)],
    });
  }
  for (const call of r.toolCalls) items.push(functionCallItem(call, 'completed'));
  return items;
}

/** Where the error code of a failed Response comes from (ResponseError.code). */
const failureCode = (error: GatewayError) => (error.status === 429 ? 'rate_limit_exceeded' : 'server_error');

/**
 * The Response object for one request: the fields of the request it echoes (stateless: `store` is always false, and
 * `previous_response_id` always null), plus the state and output given.
 */
function responseObject(
  body: ResponsesBody,
  ids: { id: string; createdAt: number },
  state: {
    status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
    output: OutputItem[];
    usage?: ReturnType<typeof wireUsage> | null;
    incompleteReason?: string | undefined;
    error?: { code: string; message: string } | null;
  },
) {
  return {
    id: ids.id,
    object: 'response' as const,
    created_at: ids.createdAt,
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason ? { reason: state.incompleteReason } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    output: state.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: (body.tools ?? []).map((t) => ({
      type: 'function' as const,
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict ?? true,
    })),
    top_p: body.top_p ?? null,
    truncation: body.truncation ?? 'disabled',
    usage: state.usage ?? null,
    metadata: body.metadata ?? {},
    ...(body.user ? { user: body.user } : {}),
    ...(body.safety_identifier ? { safety_identifier: body.safety_identifier } : {}),
    ...(state.status === 'completed' ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
  };
}

/**
 * The typed SSE events of one streamed Response, each with its `sequence_number`: created and in_progress first; each
 * output item added, filled (text, reasoning text or function-call argument deltas) and done; then completed,
 * incomplete (the output cap cut it) or — after a failure past the commit point — failed followed by an `error`.
 */
class ResponsesEventStream {
  private sequence = 0;
  private readonly output: OutputItem[] = [];
  private open:
    | { item: MessageItem | ReasoningItem; index: number; text: string; logprobs: TokenLogprob[] }
    | undefined;

  constructor(
    private readonly body: ResponsesBody,
    private readonly ids: { id: string; createdAt: number },
  ) {}

  private event(type: string, payload: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...payload })}\n\n`;
  }

  start(): string {
    const response = responseObject(this.body, this.ids, { status: 'in_progress', output: [] });
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  text(delta: string, logprobs: TokenLogprob[] = []): string {
    let out = '';
    if (this.open?.item.type !== 'message') {
      out += this.close('completed');
      const item: MessageItem = {
        id: newId('msg'),
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      };
      out += this.add(item);
      out += this.event('response.content_part.added', {
        item_id: item.id,
        output_index: this.open?.index,
        content_index: 0,
        part: textPart(''),
      });
    }
    const open = this.open as NonNullable<typeof this.open>;
    open.text += delta;
    open.logprobs.push(...logprobs);
    return (
      out +
      this.event('response.output_text.delta', {
        item_id: open.item.id,
        output_index: open.index,
        content_index: 0,
        delta,
        logprobs: logprobs.map(wireLogprob),
      })
    );
  }

  reasoning(delta: string): string {
    let out = '';
    if (this.open?.item.type !== 'reasoning') {
      out += this.close('completed');
      const item: ReasoningItem = { id: newId('rs'), type: 'reasoning', summary: [], content: [] };
      out += this.add(item);
      out += this.event('response.content_part.added', {
        item_id: item.id,
        output_index: this.open?.index,
        content_index: 0,
        part: { type: 'reasoning_text', text: '' },
      });
    }
    const open = this.open as NonNullable<typeof this.open>;
    open.text += delta;
    return (
      out +
      this.event('response.reasoning_text.delta', {
        item_id: open.item.id,
        output_index: open.index,
        content_index: 0,
        delta,
      })
    );
  }

  toolCall(call: ToolCall): string {
    const item = functionCallItem(call, 'in_progress');
    const args = item.arguments;
    const index = this.output.length;
    let out = this.close('completed');
    this.output.push(item);
    out += this.event('response.output_item.added', { output_index: index, item: { ...item, arguments: '' } });
    out += this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: args });
    out += this.event('response.function_call_arguments.done', {
      item_id: item.id,
      output_index: index,
      name: item.name,
      arguments: args,
    });
    item.status = 'completed';
    return out + this.event('response.output_item.done', { output_index: index, item });
  }

  finish(r: GatewayChatResponse): string {
    const { status, reason } = statusOf(r);
    let out = this.close(status);
    // Nothing streamed (a cached answer arrives whole): the items of the whole answer, each added and done.
    if (this.output.length === 0) {
      for (const item of outputOf(r, status)) {
        const index = this.output.length;
        this.output.push(item);
        out += this.event('response.output_item.added', { output_index: index, item });
        out += this.event('response.output_item.done', { output_index: index, item });
      }
    }
    const response = responseObject(this.body, this.ids, {
      status,
      output: this.output,
      usage: wireUsage(r),
      incompleteReason: reason,
    });
    return out + this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }

  /** The failure after the commit point: the Response failed, then the `error` event clients raise. */
  fail(error: GatewayError): string {
    const message = formatError(error);
    const response = responseObject(this.body, this.ids, {
      status: 'failed',
      output: this.output,
      error: { code: failureCode(error), message },
    });
    const wire = openaiErrorBody(error).error;
    return (
      this.event('response.failed', { response }) +
      // The documented fields at the top level, and the nested `error` the API sends and the official SDKs raise.
      this.event('error', { code: wire.code, message, param: wire.param, error: wire })
    );
  }

  private add(item: MessageItem | ReasoningItem): string {
    const index = this.output.length;
    this.output.push(item);
    this.open = { item, index, text: '', logprobs: [] };
    return this.event('response.output_item.added', { output_index: index, item: { ...item, content: [] } });
  }

  /** Finish the text or reasoning item being streamed, if any. */
  private close(status: ItemStatus): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    const at = { item_id: open.item.id, output_index: open.index, content_index: 0 };
    if (open.item.type === 'reasoning') {
      const part = { type: 'reasoning_text' as const, text: open.text };
      open.item.content = [part];
      return (
        this.event('response.reasoning_text.done', { ...at, text: open.text }) +
        this.event('response.content_part.done', { ...at, part }) +
        this.event('response.output_item.done', { output_index: open.index, item: open.item })
      );
    }
    const part = textPart(open.text, open.logprobs);
    open.item.content = [part];
    open.item.status = status;
    return (
      this.event('response.output_text.done', { ...at, text: open.text, logprobs: part.logprobs }) +
      this.event('response.content_part.done', { ...at, part }) +
      this.event('response.output_item.done', { output_index: open.index, item: open.item })
    );
  }
}

/** OpenAI Responses: a Response object as JSON, or its typed SSE events; errors in OpenAI's shape. */
export function responsesWire(body: ResponsesBody): ChatWire {
  const ids = { id: newId('resp'), createdAt: Math.floor(Date.now() / 1000) };
  const events = new ResponsesEventStream(body, ids);
  return {
    endpoint: 'openai.responses',
    streamContentType: 'text/event-stream; charset=utf-8',
    completion: (r) => {
      const { status, reason } = statusOf(r);
      return responseObject(body, ids, {
        status,
        output: outputOf(r, status),
        usage: wireUsage(r),
        incompleteReason: reason,
      });
    },
    streamStart: () => events.start(),
    streamEvent: (event: GatewayStreamEvent) => {
      switch (event.type) {
        case 'text-delta':
          return event.text === '' ? '' : events.text(event.text, event.logprobs);
        case 'reasoning-delta':
          return event.text === '' ? '' : events.reasoning(event.text);
        case 'tool-call':
          return events.toolCall(event.toolCall);
        case 'finish':
          return events.finish(event.response);
        default:
          return '';
      }
    },
    streamError: (error) => events.fail(error),
    errorBody: openaiErrorBody,
  };
}
