import type { ChatMessage, ChatRequest, FinishReason, TokenLogprob, ToolCall } from '@unity/core';
import { formatError } from '@unity/core';
import { z } from 'zod';
import type { ChatWire } from './chat-wire';
import type { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';

const options = z
  .object({
    temperature: z.number().min(0).optional(),
    num_predict: z.number().int().optional(),
    stop: z.array(z.string()).optional(),
    seed: z.number().int().optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    frequency_penalty: z.number().optional(),
    presence_penalty: z.number().optional(),
  })
  .optional();

/** Thinking on or off, or a level (for the models that have levels). */
const think = z.union([z.boolean(), z.enum(['low', 'medium', 'high'])]).optional();

/** Ollama ≥ 0.12.11: per-token log probabilities, with this many alternatives each. */
const logprobFields = {
  logprobs: z.boolean().optional(),
  top_logprobs: z.number().int().min(0).max(20).optional(),
};

const format = z.union([z.literal('json'), z.literal(''), z.record(z.string(), z.unknown())]).optional();

const toolCallSchema = z.object({
  id: z.string().optional(),
  function: z.object({
    name: z.string(),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]),
  }),
});

const messageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().default(''),
  images: z.array(z.string()).nullish(),
  thinking: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_name: z.string().optional(),
  tool_call_id: z.string().optional(),
});

const toolSchema = z.object({
  type: z.literal('function').default('function'),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The body of Ollama's POST /api/chat. `stream` defaults to true, as Ollama's does. */
export const ollamaChatSchema = z.object({
  model: z.string().min(1),
  messages: z.array(messageSchema, {
    error: (issue) => (issue.input === undefined ? 'required' : 'expected a list of messages'),
  }),
  tools: z.array(toolSchema).optional(),
  format,
  options,
  stream: z.boolean().default(true),
  keep_alive: z.unknown().optional(),
  think,
  ...logprobFields,
});

/** The body of Ollama's POST /api/generate. */
export const ollamaGenerateSchema = z.object({
  model: z.string().min(1),
  prompt: z.string().default(''),
  system: z.string().optional(),
  images: z.array(z.string()).nullish(),
  format,
  options,
  stream: z.boolean().default(true),
  raw: z.boolean().optional(),
  keep_alive: z.unknown().optional(),
  think,
  ...logprobFields,
});

type OllamaChatBody = z.output<typeof ollamaChatSchema>;
type OllamaGenerateBody = z.output<typeof ollamaGenerateSchema>;

function commonFields(body: {
  format?: z.output<typeof format>;
  options?: z.output<typeof options>;
  logprobs?: boolean | undefined;
  top_logprobs?: number | undefined;
  think?: z.output<typeof think>;
}) {
  const request: Omit<ChatRequest, 'messages'> = {};
  const o = body.options;
  if (o?.temperature !== undefined) request.temperature = o.temperature;
  if (o?.num_predict !== undefined && o.num_predict > 0) request.maxOutputTokens = o.num_predict;
  if (o?.stop !== undefined && o.stop.length > 0) request.stop = o.stop;
  if (o?.seed !== undefined) request.seed = o.seed;
  if (o?.top_p !== undefined) request.topP = o.top_p;
  if (o?.top_k !== undefined) request.topK = o.top_k;
  if (o?.frequency_penalty !== undefined) request.frequencyPenalty = o.frequency_penalty;
  if (o?.presence_penalty !== undefined) request.presencePenalty = o.presence_penalty;
  if (body.logprobs) request.logprobs = { top: body.top_logprobs ?? 0 };
  if (body.think !== undefined)
    request.reasoningEffort = body.think === false ? 'none' : body.think === true ? 'medium' : body.think;
  if (body.format === 'json') request.responseFormat = { type: 'json' };
  else if (body.format && typeof body.format === 'object')
    request.responseFormat = { type: 'json', schema: body.format };
  return request;
}

/** Ollama chat body → the router's chat request. Tool arguments are objects here; tool results name their tool. */
export function ollamaChatToChatRequest(body: OllamaChatBody): ChatRequest {
  let callCounter = 0;
  const pendingIds = new Map<string, string[]>();
  const messages = body.messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
        return { role: 'system', content: m.content };
      case 'user':
        return m.images && m.images.length > 0
          ? { role: 'user', content: m.content, images: m.images }
          : { role: 'user', content: m.content };
      case 'assistant': {
        const toolCalls = m.tool_calls?.map((c): ToolCall => {
          const id = c.id ?? `call_${++callCounter}`;
          pendingIds.set(c.function.name, [...(pendingIds.get(c.function.name) ?? []), id]);
          const raw =
            typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments);
          return { id, name: c.function.name, arguments: parseArguments(c.function.arguments), rawArguments: raw };
        });
        return {
          role: 'assistant',
          content: m.content,
          ...(toolCalls && toolCalls.length > 0 ? { toolCalls } : {}),
          ...(m.thinking ? { reasoning: m.thinking } : {}),
        };
      }
      default: {
        // role 'tool'. Ollama answers calls by tool name, in order; give each answer the id of the call it answers.
        const name = m.tool_name;
        const ids = name ? pendingIds.get(name) : undefined;
        const id = m.tool_call_id ?? ids?.shift() ?? `call_${++callCounter}`;
        return { role: 'tool', content: m.content, toolCallId: id, ...(name ? { toolName: name } : {}) };
      }
    }
  });
  const request: ChatRequest = { messages, ...commonFields(body) };
  if (body.tools && body.tools.length > 0) {
    request.tools = body.tools.map((t) => ({
      name: t.function.name,
      description: t.function.description ?? '',
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  return request;
}

/** Ollama generate body → a chat request: the system text and the prompt as one user turn. */
export function ollamaGenerateToChatRequest(body: OllamaGenerateBody): ChatRequest {
  const messages: ChatMessage[] = [];
  if (body.system) messages.push({ role: 'system', content: body.system });
  messages.push(
    body.images && body.images.length > 0
      ? { role: 'user', content: body.prompt, images: body.images }
      : { role: 'user', content: body.prompt },
  );
  return { messages, ...commonFields(body) };
}

function parseArguments(args: Record<string, unknown> | string): Record<string, unknown> {
  if (typeof args !== 'string') return args;
  try {
    const value = JSON.parse(args);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

const doneReason = (reason: FinishReason) => (reason === 'length' ? 'length' : 'stop');
const wireLogprobs = (logprobs: readonly TokenLogprob[] | undefined) =>
  logprobs?.length
    ? {
        logprobs: logprobs.map((t) => ({
          token: t.token,
          logprob: t.logprob,
          ...(t.bytes ? { bytes: t.bytes } : {}),
          top_logprobs: t.top.map((a) => ({
            token: a.token,
            logprob: a.logprob,
            ...(a.bytes ? { bytes: a.bytes } : {}),
          })),
        })),
      }
    : {};
const wireToolCall = (c: ToolCall, index: number) => ({
  id: c.id,
  function: { index, name: c.name, arguments: c.arguments },
});

/** Ollama's error body. */
export function ollamaErrorBody(error: GatewayError) {
  return { error: formatError(error) };
}

/**
 * Ollama's /api/chat or /api/generate: JSON answers, NDJSON streams whose last line has `done: true` and the counts
 * (durations in nanoseconds), and errors as `{"error": "…"}` — inside the stream, as Ollama does, once it has begun.
 */
export function ollamaWire(kind: 'chat' | 'generate', requestedModel: string): ChatWire {
  const startedAt = process.hrtime.bigint();
  let firstTokenAt: bigint | undefined;
  let toolIndex = 0;
  const createdAt = () => new Date().toISOString();
  const body = (content: string, extra: Record<string, unknown> = {}) =>
    kind === 'chat' ? { message: { role: 'assistant', content, ...extra } } : { response: content, ...extra };
  const stats = (r: GatewayChatResponse) => {
    const total = process.hrtime.bigint() - startedAt;
    const evalNs = firstTokenAt === undefined ? total : process.hrtime.bigint() - firstTokenAt;
    return {
      done: true,
      done_reason: doneReason(r.finishReason),
      total_duration: Number(total),
      load_duration: 0,
      prompt_eval_count: r.usage.inputTokens,
      prompt_eval_duration: Number(total - evalNs),
      eval_count: r.usage.outputTokens,
      eval_duration: Number(evalNs),
    };
  };
  const line = (value: unknown) => `${JSON.stringify(value)}\n`;
  return {
    endpoint: `ollama.${kind}`,
    streamContentType: 'application/x-ndjson',
    completion: (r) => ({
      model: requestedModel,
      created_at: createdAt(),
      ...body(r.content, {
        ...(kind === 'chat' && r.reasoning ? { thinking: r.reasoning } : {}),
        ...(kind === 'chat' && r.toolCalls.length > 0 ? { tool_calls: r.toolCalls.map(wireToolCall) } : {}),
      }),
      ...wireLogprobs(r.logprobs),
      ...stats(r),
    }),
    streamEvent: (event: GatewayStreamEvent) => {
      firstTokenAt ??= process.hrtime.bigint();
      switch (event.type) {
        case 'text-delta':
          return line({
            model: requestedModel,
            created_at: createdAt(),
            ...body(event.text),
            ...wireLogprobs(event.logprobs),
            done: false,
          });
        case 'reasoning-delta':
          return kind === 'chat'
            ? line({
                model: requestedModel,
                created_at: createdAt(),
                ...body('', { thinking: event.text }),
                done: false,
              })
            : '';
        case 'tool-call':
          return kind === 'chat'
            ? line({
                model: requestedModel,
                created_at: createdAt(),
                ...body('', { tool_calls: [wireToolCall(event.toolCall, toolIndex++)] }),
                done: false,
              })
            : '';
        case 'finish':
          return line({ model: requestedModel, created_at: createdAt(), ...body(''), ...stats(event.response) });
        default:
          return '';
      }
    },
    streamError: (error) => line(ollamaErrorBody(error)),
    errorBody: ollamaErrorBody,
  };
}
