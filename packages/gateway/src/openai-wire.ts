import { randomUUID } from 'node:crypto';
import type { ChatMessage, ChatRequest, FinishReason, TokenLogprob, ToolCall, ToolChoice } from '@unity/core';
import { formatError } from '@unity/core';
import { z } from 'zod';
import type { ChatWire } from './chat-wire';
import type { GatewayError } from './errors';
import type { GatewayChatResponse, GatewayStreamEvent } from './gateway-router';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.union([z.string(), z.object({ url: z.string() })]),
});
const content = z.union([z.string(), z.array(z.union([textPart, imagePart]))], {
  error: 'expected a string or a list of content parts ({type: "text", text} or {type: "image_url", image_url})',
});
const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'developer']), content }),
  z.object({ role: z.literal('user'), content }),
  z.object({
    role: z.literal('assistant'),
    content: content.nullish(),
    tool_calls: z.array(toolCallSchema).optional(),
    reasoning_content: z.string().nullish(),
  }),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string() }),
]);

const toolChoiceSchema = z.union(
  [
    z.enum(['auto', 'none', 'required']),
    z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }),
  ],
  { error: 'expected "auto", "none", "required" or {"type": "function", "function": {"name": …}}' },
);

/** Set to anything but their neutral value, these would change the answer and no model here can honour them. */
const refused = {
  logit_bias: (v: unknown) => v != null && Object.keys(v as object).length > 0,
  audio: (v: unknown) => v != null,
  modalities: (v: unknown) => Array.isArray(v) && v.some((m) => m !== 'text'),
  prediction: (v: unknown) => v != null,
  web_search_options: (v: unknown) => v != null,
  functions: (v: unknown) => v != null,
  function_call: (v: unknown) => v != null,
} satisfies Record<string, (value: unknown) => boolean>;
const refusedFix: Record<keyof typeof refused, string> = {
  logit_bias: 'drop logit_bias',
  audio: 'drop audio: the gateway answers in text',
  modalities: 'ask for ["text"] only',
  prediction: 'drop prediction (predicted outputs)',
  web_search_options: 'drop web_search_options, or give the model a web_search tool',
  functions: 'send tools: [{type: "function", function: {...}}] instead of the deprecated functions',
  function_call: 'send tool_choice instead of the deprecated function_call',
};

/**
 * The body of POST /v1/chat/completions: every field the router honours. Fields that would change the answer and
 * that nothing here can honour are refused (400 naming them); fields without effect on the answer (`metadata`,
 * `store`, `service_tier`) are accepted and ignored.
 */
export const openaiChatSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(messageSchema).min(1),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    tools: z
      .array(
        z.object({
          type: z.literal('function'),
          function: z.object({
            name: z.string().min(1),
            description: z.string().optional(),
            parameters: z.record(z.string(), z.unknown()).optional(),
          }),
        }),
      )
      .nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    /** Not OpenAI's, but vLLM's and llama.cpp server's; honoured by Ollama and the embedded engine too. */
    top_k: z.number().int().min(0).nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    presence_penalty: z.number().min(-2).max(2).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    /** Emulated with n calls of the router (not with `stream`). */
    n: z.number().int().min(1).max(16).nullish(),
    user: z.string().nullish(),
    reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high']).nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    stop: z.union([z.string(), z.array(z.string())]).nullish(),
    seed: z.number().int().nullish(),
    response_format: z
      .union([
        z.object({ type: z.literal('text') }),
        z.object({ type: z.literal('json_object') }),
        z.object({
          type: z.literal('json_schema'),
          json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()).optional() }),
        }),
      ])
      .nullish(),
    ...Object.fromEntries(Object.keys(refused).map((key) => [key, z.unknown().optional()])),
  })
  .superRefine((body, ctx) => {
    for (const [key, isSet] of Object.entries(refused)) {
      if (isSet((body as Record<string, unknown>)[key])) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `is not supported by this gateway (${refusedFix[key as keyof typeof refused]})`,
        });
      }
    }
    if (body.top_logprobs != null && body.logprobs !== true) {
      ctx.addIssue({ code: 'custom', path: ['top_logprobs'], message: 'needs logprobs: true' });
    }
    if ((body.n ?? 1) > 1 && body.stream === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['n'],
        message: 'n > 1 is served only without stream (each choice is a separate call); send stream: false',
      });
    }
  });

type OpenAIChatBody = z.output<typeof openaiChatSchema>;

function textOf(value: z.output<typeof content> | null | undefined): { text: string; images: string[] } {
  if (value == null) return { text: '', images: [] };
  if (typeof value === 'string') return { text: value, images: [] };
  const images: string[] = [];
  let text = '';
  for (const part of value) {
    if (part.type === 'text') text += part.text;
    else {
      const url = typeof part.image_url === 'string' ? part.image_url : part.image_url.url;
      const comma = url.indexOf(',');
      images.push(url.startsWith('data:') && comma > 0 ? url.slice(comma + 1) : url);
    }
  }
  return { text, images };
}

function parseArguments(raw: string): Record<string, unknown> {
  try {
    const value = JSON.parse(raw);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** OpenAI chat body → the router's chat request (without routing fields and signal). */
export function openaiToChatRequest(body: OpenAIChatBody): ChatRequest {
  const toolNames = new Map<string, string>();
  const messages: ChatMessage[] = body.messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(m.content).text };
      case 'user': {
        const { text, images } = textOf(m.content);
        return images.length > 0 ? { role: 'user', content: text, images } : { role: 'user', content: text };
      }
      case 'assistant': {
        const toolCalls: ToolCall[] | undefined = m.tool_calls?.map((c) => {
          toolNames.set(c.id, c.function.name);
          return {
            id: c.id,
            name: c.function.name,
            arguments: parseArguments(c.function.arguments),
            rawArguments: c.function.arguments,
          };
        });
        return {
          role: 'assistant',
          content: textOf(m.content).text,
          ...(toolCalls && toolCalls.length > 0 ? { toolCalls } : {}),
          ...(m.reasoning_content ? { reasoning: m.reasoning_content } : {}),
        };
      }
      default: {
        const toolName = toolNames.get(m.tool_call_id);
        return {
          role: 'tool',
          content: textOf(m.content).text,
          toolCallId: m.tool_call_id,
          ...(toolName ? { toolName } : {}),
        };
      }
    }
  });
  const request: ChatRequest = { messages };
  if (body.tools && body.tools.length > 0) {
    request.tools = body.tools.map((t) => ({
      name: t.function.name,
      description: t.function.description ?? '',
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  if (body.tool_choice != null) request.toolChoice = toToolChoice(body.tool_choice);
  if (body.parallel_tool_calls != null) request.parallelToolCalls = body.parallel_tool_calls;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.topP = body.top_p;
  if (body.top_k != null) request.topK = body.top_k;
  if (body.frequency_penalty != null) request.frequencyPenalty = body.frequency_penalty;
  if (body.presence_penalty != null) request.presencePenalty = body.presence_penalty;
  if (body.logprobs === true) request.logprobs = { top: body.top_logprobs ?? 0 };
  if (body.user != null) request.user = body.user;
  if (body.reasoning_effort != null) request.reasoningEffort = body.reasoning_effort;
  const maxOutputTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxOutputTokens != null) request.maxOutputTokens = maxOutputTokens;
  if (body.stop != null) request.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (body.seed != null) request.seed = body.seed;
  if (body.response_format?.type === 'json_object') request.responseFormat = { type: 'json' };
  if (body.response_format?.type === 'json_schema') {
    const schema = body.response_format.json_schema.schema;
    request.responseFormat = schema ? { type: 'json', schema } : { type: 'json' };
  }
  return request;
}

function toToolChoice(choice: z.output<typeof toolChoiceSchema>): ToolChoice {
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

/** OpenAI's `logprobs` of a choice or chunk, or null when none were asked for. */
function wireLogprobs(logprobs: readonly TokenLogprob[] | undefined) {
  if (!logprobs) return null;
  const entry = (t: { token: string; logprob: number; bytes?: number[] }) => ({
    token: t.token,
    logprob: t.logprob,
    bytes: t.bytes ?? [...Buffer.from(t.token, 'utf8')],
  });
  return { content: logprobs.map((t) => ({ ...entry(t), top_logprobs: t.top.map(entry) })), refusal: null };
}

function finishReason(reason: FinishReason): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  return reason === 'length' || reason === 'tool_calls' || reason === 'content_filter' ? reason : 'stop';
}

const wireToolCall = (c: ToolCall) => ({
  id: c.id,
  type: 'function' as const,
  function: { name: c.name, arguments: c.rawArguments || JSON.stringify(c.arguments) },
});

const wireUsage = (responses: readonly GatewayChatResponse[]) => {
  const sum = (pick: (r: GatewayChatResponse) => number) => responses.reduce((total, r) => total + pick(r), 0);
  // n choices of one prompt: the prompt counts once, as OpenAI bills it.
  const prompt = responses[0]?.usage.inputTokens ?? 0;
  const completion = sum((r) => r.usage.outputTokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};

/** OpenAI's error body. */
export function openaiErrorBody(error: GatewayError) {
  const type =
    error.openai?.type ??
    (error.status === 401 ? 'authentication_error' : error.status < 500 ? 'invalid_request_error' : 'server_error');
  const code = error.openai?.code ?? error.code.toLowerCase();
  // The client's user reads the fix too: it goes with the message, on a line of its own.
  return { error: { message: formatError(error), type, param: error.param ?? null, code } };
}

/** OpenAI Chat Completions: JSON answers, SSE streams ending in `data: [DONE]`, errors in OpenAI's shape. */
export function openaiWire(body: OpenAIChatBody): ChatWire {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = body.stream_options?.include_usage === true;
  let toolIndex = 0;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, logprobs?: TokenLogprob[]) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, logprobs: wireLogprobs(logprobs), finish_reason: finish }],
    })}\n\n`;
  return {
    endpoint: 'openai.chat',
    streamContentType: 'text/event-stream; charset=utf-8',
    completion: (first, others = []) => ({
      id,
      object: 'chat.completion',
      created,
      model: body.model,
      choices: [first, ...others].map((r, index) => ({
        index,
        message: {
          role: 'assistant',
          content: r.toolCalls.length > 0 && r.content === '' ? null : r.content,
          ...(r.reasoning ? { reasoning_content: r.reasoning } : {}),
          ...(r.toolCalls.length > 0 ? { tool_calls: r.toolCalls.map(wireToolCall) } : {}),
        },
        logprobs: body.logprobs === true ? wireLogprobs(r.logprobs ?? []) : null,
        finish_reason: finishReason(r.finishReason),
      })),
      usage: wireUsage([first, ...others]),
    }),
    streamStart: () => chunk({ role: 'assistant', content: '' }),
    streamEvent: (event: GatewayStreamEvent) => {
      switch (event.type) {
        case 'text-delta':
          return chunk({ content: event.text }, null, event.logprobs);
        case 'reasoning-delta':
          return chunk({ reasoning_content: event.text });
        case 'tool-call':
          return chunk({ tool_calls: [{ index: toolIndex++, ...wireToolCall(event.toolCall) }] });
        case 'finish': {
          let out = chunk({}, finishReason(event.response.finishReason));
          if (includeUsage) {
            out += `data: ${JSON.stringify({
              id,
              object: 'chat.completion.chunk',
              created,
              model: body.model,
              choices: [],
              usage: wireUsage([event.response]),
            })}\n\n`;
          }
          return `${out}data: [DONE]\n\n`;
        }
        default:
          return '';
      }
    },
    streamError: (error) => `data: ${JSON.stringify(openaiErrorBody(error))}\n\n`,
    errorBody: openaiErrorBody,
  };
}
