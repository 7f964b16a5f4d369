import type { ChatMessage, ChatResponse, FinishReason, TokenLogprob, ToolCall, ToolChoice, Usage } from '@unity/core';
import { emptyUsage, redactUrl } from '@unity/core';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { Agent, interceptors } from 'undici';
import { z } from 'zod';
import { ProviderError, type ProviderErrorCode } from '../errors';
import type { Provider, ProviderRequest, StreamEvent } from '../provider';
import { extractTextToolCalls, generateToolCallId, TextToolCallCollector } from '../tool-call-text';
import { contentEvents, textDelta } from './content-events';
import {
  badResponse,
  type FailureContext,
  httpStatusError,
  responseMismatch,
  streamCut,
  transportError,
  upstreamError,
} from './http-errors';
import { isLoopbackUrl } from './loopback';
import { splitThinkTags, ThinkTagSplitter } from './think-tags';
import { createUndiciFetch } from './undici-fetch';
import { toTokenLogprob, type WireLogprob, wireLogprobSchema } from './wire-logprobs';

export interface OpenAICompatibleProviderOptions {
  /** The provider's name in attempts, events and errors (e.g. `minimax`). */
  id: string;
  /** The API root, up to and including `/v1` (e.g. `https://api.minimax.io/v1`). */
  baseURL: string;
  /** Bearer key. Required for the `minimax` and `openai` flavors; optional for self-hosted servers. */
  apiKey?: string;
  /**
   * `minimax`: MiniMax's quirks (reasoning split and re-sent, `base_resp` errors, `max_completion_tokens`).
   * `openai`: OpenAI itself. Unset: any other compatible server (vLLM, LM Studio, llama.cpp server, OpenRouter), where
   * `<think>` content is split and tool calls written as text are converted.
   */
  flavor?: 'minimax' | 'openai';
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Where the key comes from (e.g. `MINIMAX_API_KEY`), named in the fix of authentication errors. */
  apiKeyVariable?: string;
  /** Whether requests leave this machine. Default: true unless `baseURL` is a loopback address. */
  remote?: boolean;
}

type Body = Record<string, unknown>;

/**
 * A provider for OpenAI Chat Completions servers, through the official `openai` client with its retries off (the
 * router retries). Every failure becomes a `ProviderError`; the caller's signal cancels the upstream request.
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): Provider {
  const flavor = options.flavor;
  const minimax = flavor === 'minimax';
  const keyName = options.apiKeyVariable ?? (minimax ? 'MINIMAX_API_KEY' : 'the API key variable');
  // The router bounds every attempt with its own timeouts (through the signal), so undici's are off.
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey ?? 'unused',
    // Explicit values, so that the client reads nothing from process.env.
    organization: null,
    project: null,
    webhookSecret: null,
    logLevel: 'off',
    maxRetries: 0,
    fetch: createUndiciFetch(agent.compose(interceptors.redirect({ maxRedirections: 5 }))),
    defaultHeaders: { ...options.headers, ...(options.apiKey ? {} : { Authorization: null }) },
  });

  // The address as messages show it: a password written into it never reaches an error, an event or a log.
  const shown = redactUrl(options.baseURL);
  const context = (model: string): FailureContext => ({
    provider: options.id,
    model,
    endpoint: shown,
    fixes: {
      connection: `check that the server at ${shown} is running and reachable (cloud_llm.base_url)`,
      auth: `set ${keyName} to a valid key for ${shown}`,
      modelNotFound: `check the model name: GET ${shown}/models lists what this server offers`,
    },
  });

  const checkKey = (ctx: FailureContext) => {
    if (options.apiKey || flavor === undefined) return;
    throw new ProviderError({
      code: 'AUTH_FAILED',
      message: `${options.id} (${shown}) needs an API key for model ${ctx.model}, and none was given`,
      fix: ctx.fixes.auth,
      provider: ctx.provider,
      model: ctx.model,
    });
  };

  const buildBody = (request: ProviderRequest): Body => ({
    model: request.model,
    messages: request.messages.map((m) => toWireMessage(m, minimax)),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((t) => ({
            type: 'function',
            function: { name: t.name, description: t.description, parameters: t.parameters },
          })),
        }
      : {}),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.maxOutputTokens === undefined
      ? {}
      : flavor === undefined
        ? { max_tokens: request.maxOutputTokens }
        : { max_completion_tokens: request.maxOutputTokens }),
    ...(request.stop?.length ? { stop: request.stop } : {}),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.toolChoice === undefined ? {} : { tool_choice: wireToolChoice(request.toolChoice) }),
    ...(request.parallelToolCalls === undefined ? {} : { parallel_tool_calls: request.parallelToolCalls }),
    ...(request.topP === undefined ? {} : { top_p: request.topP }),
    // Not in OpenAI's API; self-hosted servers (vLLM, llama.cpp server, LM Studio) take it.
    ...(request.topK === undefined ? {} : { top_k: request.topK }),
    ...(request.frequencyPenalty === undefined ? {} : { frequency_penalty: request.frequencyPenalty }),
    ...(request.presencePenalty === undefined ? {} : { presence_penalty: request.presencePenalty }),
    ...(request.logprobs ? { logprobs: true, top_logprobs: request.logprobs.top } : {}),
    ...(request.user === undefined ? {} : { user: request.user }),
    ...(request.reasoningEffort === undefined ? {} : { reasoning_effort: request.reasoningEffort }),
    ...(request.responseFormat
      ? {
          response_format: request.responseFormat.schema
            ? { type: 'json_schema', json_schema: { name: 'response', schema: request.responseFormat.schema } }
            : { type: 'json_object' },
        }
      : {}),
    ...(minimax ? { reasoning_split: true } : {}),
  });

  const classify = (ctx: FailureContext, error: unknown, signal: AbortSignal, afterHeaders: boolean) => {
    if (ProviderError.isInstance(error) || signal.aborted) return transportError(ctx, error, signal, { afterHeaders });
    if (error instanceof APIError && typeof error.status === 'number') {
      return httpStatusError(ctx, error.status, apiErrorMessage(error), error.headers);
    }
    if (error instanceof APIConnectionTimeoutError) {
      // The client's own request timeout: no answer in time, like undici's headers timeout.
      return transportError(ctx, Object.assign(error, { code: 'UND_ERR_HEADERS_TIMEOUT' }), signal, {
        afterHeaders: false,
      });
    }
    if (error instanceof APIConnectionError) {
      return transportError(ctx, error.cause ?? error, signal, { afterHeaders: false });
    }
    // An `{"error":…}` event inside a 200 SSE stream.
    if (error instanceof APIError) return upstreamError(ctx, apiErrorMessage(error), 'UPSTREAM_ERROR', error);
    return transportError(ctx, error, signal, { afterHeaders });
  };

  const textToolCalls = (request: ProviderRequest) => (flavor === undefined ? (request.tools ?? []) : []);

  return {
    id: options.id,
    kind: 'openai-compatible',
    remote: options.remote ?? !isLoopbackUrl(options.baseURL),
    features: {
      toolChoice: true,
      parallelToolCalls: true,
      logprobs: true,
      topK: flavor === undefined,
      penalties: true,
      reasoning: true,
    },

    async close() {
      await agent.close();
    },

    async chat(request: ProviderRequest): Promise<ChatResponse> {
      const ctx = context(request.model);
      checkKey(ctx);
      let raw: unknown;
      try {
        raw = await client.chat.completions.create(buildBody(request) as never, { signal: request.signal });
      } catch (error) {
        throw classify(ctx, error, request.signal, true);
      }
      throwIfBaseRespError(ctx, raw);
      const parsed = completionSchema.safeParse(raw);
      if (!parsed.success) throw responseMismatch(ctx, 'chat completion', parsed.error);
      const choice = parsed.data.choices[0]!;
      const message = choice.message;
      let content = message.content ?? '';
      let reasoning = reasoningOf(message);
      if (flavor !== 'openai') {
        const split = splitThinkTags(content);
        content = split.text;
        reasoning = joinReasoning(reasoning, split.reasoning);
      }
      let toolCalls = (message.tool_calls ?? []).map((call) =>
        toToolCall(ctx, call.id || generateToolCallId(), call.function.name, call.function.arguments ?? ''),
      );
      if (toolCalls.length === 0) {
        const found = extractTextToolCalls(content, textToolCalls(request));
        content = found.text;
        toolCalls = found.toolCalls;
      }
      return {
        content,
        toolCalls,
        ...(reasoning ? { reasoning } : {}),
        usage: toUsage(parsed.data.usage),
        finishReason: toolCalls.length > 0 ? 'tool_calls' : toFinishReason(choice.finish_reason),
        model: parsed.data.model ?? request.model,
        ...(choice.logprobs?.content?.length ? { logprobs: choice.logprobs.content.map(toTokenLogprob) } : {}),
      };
    },

    async *stream(request: ProviderRequest): AsyncGenerator<StreamEvent> {
      const ctx = context(request.model);
      checkKey(ctx);
      const { signal } = request;
      let stream: AsyncIterable<unknown>;
      try {
        const body = { ...buildBody(request), stream: true, stream_options: { include_usage: true } };
        const { data, response } = await client.chat.completions.create(body as never, { signal }).withResponse();
        if (response.headers.get('content-type')?.includes('application/json')) {
          // Not an event stream: MiniMax answers some failures with a plain JSON `base_resp` body under HTTP 200.
          const json: unknown = await response.json();
          throwIfBaseRespError(ctx, json);
          throw upstreamError(ctx, `expected an event stream, got JSON: ${JSON.stringify(json).slice(0, 200)}`);
        }
        stream = data as unknown as AsyncIterable<unknown>;
      } catch (error) {
        throw classify(ctx, error, signal, true);
      }

      const think = flavor === 'openai' ? undefined : new ThinkTagSplitter();
      const collector = new TextToolCallCollector(textToolCalls(request));
      const partialCalls = new Map<number, { id?: string; name: string; args: string }>();
      let finishReason: FinishReason | undefined;
      let usage: Usage = emptyUsage();
      let model = request.model;
      const logprobs: TokenLogprob[] = [];

      try {
        for await (const raw of stream) {
          throwIfBaseRespError(ctx, raw);
          const chunk = raw as Chunk;
          if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
          if (chunk.usage) usage = toUsage(chunk.usage);
          const choice = chunk.choices?.[0];
          if (!choice) continue;
          const delta = choice.delta ?? {};
          for (const entry of choice.logprobs?.content ?? []) logprobs.push(toTokenLogprob(entry));
          const reasoning = reasoningOf(delta);
          if (reasoning) yield { type: 'reasoning-delta', text: reasoning };
          if (typeof delta.content === 'string' && delta.content !== '')
            yield* contentEvents(
              think ? think.push(delta.content) : [{ type: 'text', text: delta.content }],
              collector,
              logprobs,
            );
          for (const call of delta.tool_calls ?? []) {
            const index = call.index ?? 0;
            const partial = partialCalls.get(index) ?? { name: '', args: '' };
            if (call.id) partial.id = call.id;
            if (call.function?.name) partial.name += call.function.name;
            if (call.function?.arguments) partial.args += call.function.arguments;
            partialCalls.set(index, partial);
          }
          if (choice.finish_reason) finishReason = toFinishReason(choice.finish_reason);
        }
      } catch (error) {
        throw classify(ctx, error, signal, true);
      }
      if (signal.aborted) throw transportError(ctx, signal.reason, signal, { afterHeaders: true });
      if (finishReason === undefined) throw streamCut(ctx, 'the stream ended without a finish_reason');

      yield* contentEvents(think?.flush() ?? [], collector, logprobs);
      const found = partialCalls.size === 0 ? collector.finish() : { toolCalls: [], text: collector.release() };
      if (found.text !== '') yield textDelta(found.text, logprobs);
      const toolCalls = [
        ...[...partialCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, call]) => toToolCall(ctx, call.id || generateToolCallId(), call.name, call.args)),
        ...found.toolCalls,
      ];
      for (const toolCall of toolCalls) yield { type: 'tool-call', toolCall };
      yield { type: 'finish', finishReason: toolCalls.length > 0 ? 'tool_calls' : finishReason, usage, model };
    },
  };
}

interface Chunk {
  model?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  choices?: Array<{
    delta?: ReasoningFields & {
      content?: string | null;
      tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
    logprobs?: { content?: WireLogprob[] | null } | null;
  }>;
}

function wireToolChoice(choice: ToolChoice) {
  return typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice;
}

interface ReasoningFields {
  reasoning_details?: Array<{ text?: string | null }> | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
}

const completionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          reasoning_details: z.array(z.object({ text: z.string().nullish() })).nullish(),
          reasoning_content: z.string().nullish(),
          reasoning: z.string().nullish(),
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

/** MiniMax `base_resp.status_code` values (platform.minimax.io/docs/api-reference/errorcode) and their codes. */
const baseRespCodes: Record<number, ProviderErrorCode> = {
  1002: 'RATE_LIMITED', // rate limit (RPM)
  1039: 'RATE_LIMITED', // token limit (TPM)
  1041: 'RATE_LIMITED', // connection limit
  2045: 'RATE_LIMITED', // rate growth limit
  2056: 'RATE_LIMITED', // usage limit exceeded
  1004: 'AUTH_FAILED', // not authorized
  2049: 'AUTH_FAILED', // invalid API key
  2013: 'BAD_REQUEST', // invalid parameters
};

/** Throw for MiniMax's HTTP-200 failures: `base_resp.status_code != 0` (with no choices). */
function throwIfBaseRespError(ctx: FailureContext, body: unknown): void {
  const base = (body as { base_resp?: { status_code?: unknown; status_msg?: unknown } } | null)?.base_resp;
  if (!base || typeof base.status_code !== 'number' || base.status_code === 0) return;
  const code = baseRespCodes[base.status_code] ?? 'UPSTREAM_ERROR';
  const detail = `base_resp.status_code ${base.status_code}${typeof base.status_msg === 'string' ? ` (${base.status_msg})` : ''}`;
  throw upstreamError(ctx, detail, code);
}

function apiErrorMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  return typeof body?.message === 'string' ? body.message : error.message;
}

function reasoningOf(fields: ReasoningFields): string | undefined {
  const details = fields.reasoning_details
    ?.map((d) => d.text ?? '')
    .filter((t) => t !== '')
    .join('');
  return details || fields.reasoning_content || fields.reasoning || undefined;
}

function joinReasoning(a: string | undefined, b: string | undefined): string | undefined {
  if (a && b) return `${a}\n${b}`;
  return a || b || undefined;
}

function toToolCall(ctx: FailureContext, id: string, name: string, rawArguments: string): ToolCall {
  if (rawArguments.trim() === '') return { id, name, arguments: {}, rawArguments };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawArguments);
  } catch (error) {
    throw badResponse(
      ctx,
      `the arguments of tool call ${name} are not valid JSON: ${rawArguments.slice(0, 200)}`,
      error,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badResponse(ctx, `the arguments of tool call ${name} are not a JSON object: ${rawArguments.slice(0, 200)}`);
  }
  return { id, name, arguments: parsed as Record<string, unknown>, rawArguments };
}

function toUsage(
  usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null | undefined,
): Usage {
  if (!usage) return emptyUsage();
  const inputTokens = usage.prompt_tokens ?? 0;
  const outputTokens = usage.completion_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: usage.total_tokens ?? inputTokens + outputTokens };
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return reason;
    case 'function_call':
      return 'tool_calls';
    case null:
    case undefined:
      return 'stop';
    default:
      return 'other';
  }
}

/** Unity's message → OpenAI's wire message. MiniMax gets the assistant's reasoning back, as it requires. */
function toWireMessage(message: ChatMessage, minimax: boolean): Body {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      if (!message.images?.length) return { role: 'user', content: message.content };
      return {
        role: 'user',
        content: [
          { type: 'text', text: message.content },
          ...message.images.map((image) => ({ type: 'image_url', image_url: { url: imageUrl(image) } })),
        ],
      };
    case 'assistant': {
      const toolCalls = message.toolCalls ?? [];
      return {
        role: 'assistant',
        content: toolCalls.length > 0 && message.content === '' ? null : message.content,
        ...(toolCalls.length > 0
          ? {
              tool_calls: toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.rawArguments || JSON.stringify(call.arguments) },
              })),
            }
          : {}),
        ...(minimax && message.reasoning
          ? {
              reasoning_details: [
                {
                  type: 'reasoning.text',
                  id: 'reasoning-text-1',
                  format: 'MiniMax-response-v1',
                  index: 0,
                  text: message.reasoning,
                },
              ],
            }
          : {}),
      };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function imageUrl(image: string): string {
  if (image.startsWith('data:') || /^https?:\/\//.test(image)) return image;
  return `data:${image.startsWith('/9j/') ? 'image/jpeg' : 'image/png'};base64,${image}`;
}
