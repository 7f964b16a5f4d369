import {
  type ChatMessage,
  type ChatResponse,
  type FinishReason,
  raceAbort,
  redactUrl,
  type TokenLogprob,
  type ToolCall,
  type Usage,
} from '@unity/core';
import { Ollama, type ChatRequest as OllamaChatRequest, type Message as OllamaMessage } from 'ollama';
import { Agent } from 'undici';
import { z } from 'zod';
import { ProviderError } from '../errors';
import type { ModelCapabilities, Provider, ProviderRequest, StreamEvent } from '../provider';
import { extractTextToolCalls, generateToolCallId, TextToolCallCollector } from '../tool-call-text';
import { contentEvents, textDelta } from './content-events';
import {
  badResponse,
  codeForStatus,
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
import { toTokenLogprob, wireLogprobSchema } from './wire-logprobs';

export interface OllamaProviderOptions {
  /** The provider's name in attempts, events and errors (e.g. `ollama`). */
  id: string;
  /** Ollama's address, e.g. `http://127.0.0.1:11434` (the CLI takes it from config or OLLAMA_HOST). */
  host: string;
  /** Upper bound for `options.num_ctx`; the model's own context length is used up to this. Default 32768. */
  maxContext?: number;
  /** Ollama's `keep_alive` (how long the model stays loaded), e.g. `"10m"` or seconds. */
  keepAlive?: string | number;
  /**
   * How long to wait for response headers, and between body chunks, in ms. A cold model load can take minutes and a
   * non-streaming request sends no headers until it is done. Default 600000 (10 minutes).
   */
  headersTimeoutMs?: number;
  /** Whether requests leave this machine. Default: true unless `host` is a loopback address. */
  remote?: boolean;
}

const defaultMaxContext = 32_768;
const defaultHeadersTimeoutMs = 600_000;

const showSchema = z.object({
  capabilities: z.array(z.string()).optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
});

const toolCallSchema = z.object({
  id: z.string().optional(),
  function: z.object({
    name: z.string(),
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  }),
});

const chatSchema = z.object({
  model: z.string().optional(),
  logprobs: z.array(wireLogprobSchema).nullish(),
  message: z.object({
    content: z.string().optional(),
    thinking: z.string().optional(),
    tool_calls: z.array(toolCallSchema).nullish(),
  }),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
});
type ChatPart = z.infer<typeof chatSchema>;

/**
 * A provider for Ollama's native `/api/chat`, through the official `ollama` client. It sets `num_ctx` from the model's
 * real context length (`/api/show`, capped by `maxContext`), normalises tool arguments (objects in Ollama, JSON strings
 * in OpenAI) and ids, converts tool calls that local models write as text, and turns every failure into a
 * `ProviderError`; the caller's signal cancels the HTTP request.
 */
export function createOllamaProvider(options: OllamaProviderOptions): Provider {
  const maxContext = options.maxContext ?? defaultMaxContext;
  const headersTimeoutMs = options.headersTimeoutMs ?? defaultHeadersTimeoutMs;
  const timeoutName = `headersTimeoutMs = ${headersTimeoutMs}`;
  const agent = new Agent({ headersTimeout: headersTimeoutMs, bodyTimeout: headersTimeoutMs });
  const send = createUndiciFetch(agent);
  const capabilityCache = new Map<string, Promise<ModelCapabilities>>();

  // The host as messages show it: a password written into it never reaches an error, an event or a log.
  const shown = redactUrl(options.host);
  const context = (model: string): FailureContext => ({
    provider: options.id,
    model,
    endpoint: shown,
    fixes: {
      connection: `start Ollama: \`ollama serve\` (or point ollama.host / OLLAMA_HOST at where it runs; now ${shown})`,
      auth: `check the credentials the proxy in front of Ollama at ${shown} expects`,
      modelNotFound: `\`ollama pull ${model}\``,
    },
  });

  /** An `ollama` client whose requests carry `signal`, classify HTTP errors, and guard streamed lines. */
  const clientFor = (ctx: FailureContext, signal: AbortSignal | undefined, streaming: boolean) => {
    const state = { afterHeaders: false };
    const fetchForRequest = async (input: string, init: RequestInit = {}) => {
      const signals = [signal, init.signal ?? undefined].filter((s): s is AbortSignal => s !== undefined);
      let response: Response;
      try {
        response = await send(input, { ...init, signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0] });
      } catch (error) {
        throw transportError(ctx, error, signal ?? new AbortController().signal, { afterHeaders: false, timeoutName });
      }
      state.afterHeaders = true;
      if (!response.ok) throw await httpError(ctx, response);
      if (!streaming || !response.body) return response;
      return new Response(response.body.pipeThrough(ndjsonGuard(ctx)), {
        status: response.status,
        headers: response.headers,
      });
    };
    const client = new Ollama({ host: options.host, fetch: fetchForRequest as unknown as typeof fetch });
    const fail = (error: unknown) =>
      transportError(ctx, error, signal ?? new AbortController().signal, {
        afterHeaders: state.afterHeaders,
        timeoutName,
      });
    return { client, fail };
  };

  const loadCapabilities = async (model: string): Promise<ModelCapabilities> => {
    const ctx = context(model);
    const { client, fail } = clientFor(ctx, undefined, false);
    let raw: unknown;
    try {
      raw = await client.show({ model });
    } catch (error) {
      throw fail(error);
    }
    const parsed = showSchema.safeParse(raw);
    if (!parsed.success) throw responseMismatch(ctx, '/api/show response', parsed.error);
    return {
      tools: parsed.data.capabilities?.includes('tools') ?? false,
      ...contextLengthOf(parsed.data.model_info ?? {}),
    };
  };

  const capabilities = (model: string, signal?: AbortSignal): Promise<ModelCapabilities> => {
    let cached = capabilityCache.get(model);
    if (!cached) {
      cached = loadCapabilities(model);
      capabilityCache.set(model, cached);
      // A failure is not cached: the next call asks again (the model may have been pulled meanwhile).
      const loading = cached;
      loading.catch(() => {
        if (capabilityCache.get(model) === loading) capabilityCache.delete(model);
      });
    }
    return signal
      ? raceAbort(cached, signal, (reason) => transportError(context(model), reason, signal, { afterHeaders: false }))
      : cached;
  };

  const prepare = async (request: ProviderRequest, ctx: FailureContext, stream: boolean) => {
    const caps = await capabilities(request.model, request.signal);
    if (request.tools?.length && !caps.tools) {
      throw new ProviderError({
        code: 'UNSUPPORTED',
        message: `model ${request.model} on ${shown} does not support tools (per /api/show), and tools were offered`,
        fix: 'use a model with tool support (e.g. qwen2.5-coder) for requests with tools',
        provider: ctx.provider,
        model: ctx.model,
      });
    }
    const body: OllamaChatRequest & { stream: boolean } = {
      model: request.model,
      messages: toOllamaMessages(request.messages),
      stream,
      options: {
        num_ctx: Math.min(caps.contextLength ?? maxContext, maxContext),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        ...(request.maxOutputTokens === undefined ? {} : { num_predict: request.maxOutputTokens }),
        ...(request.stop?.length ? { stop: request.stop } : {}),
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        ...(request.topP === undefined ? {} : { top_p: request.topP }),
        ...(request.topK === undefined ? {} : { top_k: request.topK }),
        ...(request.frequencyPenalty === undefined ? {} : { frequency_penalty: request.frequencyPenalty }),
        ...(request.presencePenalty === undefined ? {} : { presence_penalty: request.presencePenalty }),
      },
      // Ollama ≥ 0.12.11; the official client passes the fields through.
      ...(request.logprobs ? { logprobs: true, top_logprobs: request.logprobs.top } : {}),
      // Ollama's `think`: off, or on (levels only for the models that have them, so on is on).
      ...(request.reasoningEffort === undefined ? {} : { think: request.reasoningEffort !== 'none' }),
      ...(request.tools?.length
        ? {
            tools: request.tools.map((t) => ({
              type: 'function',
              function: { name: t.name, description: t.description, parameters: t.parameters as never },
            })),
          }
        : {}),
      ...(request.responseFormat ? { format: request.responseFormat.schema ?? 'json' } : {}),
      ...(options.keepAlive === undefined ? {} : { keep_alive: options.keepAlive }),
    };
    return body;
  };

  return {
    id: options.id,
    kind: 'ollama',
    remote: options.remote ?? !isLoopbackUrl(options.host),
    // Ollama has no tool_choice or parallel_tool_calls: the router enforces them.
    features: {
      toolChoice: false,
      parallelToolCalls: false,
      logprobs: true,
      topK: true,
      penalties: true,
      reasoning: true,
    },
    capabilities,

    async chat(request: ProviderRequest): Promise<ChatResponse> {
      const ctx = context(request.model);
      const body = await prepare(request, ctx, false);
      const { client, fail } = clientFor(ctx, request.signal, false);
      let raw: unknown;
      try {
        raw = await client.chat(body as OllamaChatRequest & { stream: false });
      } catch (error) {
        throw fail(error);
      }
      const parsed = chatSchema.safeParse(raw);
      if (!parsed.success) throw responseMismatch(ctx, '/api/chat response', parsed.error);
      const part = parsed.data;
      const split = splitThinkTags(part.message.content ?? '');
      const reasoning = [part.message.thinking, split.reasoning].filter(Boolean).join('\n');
      const text = split.text;
      let toolCalls = (part.message.tool_calls ?? []).map((call) => toToolCall(ctx, call));
      let content = text;
      if (toolCalls.length === 0) {
        const found = extractTextToolCalls(text, request.tools ?? []);
        content = found.text;
        toolCalls = found.toolCalls;
      }
      return {
        content,
        toolCalls,
        ...(reasoning ? { reasoning } : {}),
        usage: toUsage(part),
        finishReason: toFinishReason(part.done_reason, toolCalls.length > 0),
        model: part.model ?? request.model,
        ...(part.logprobs?.length ? { logprobs: part.logprobs.map(toTokenLogprob) } : {}),
      };
    },

    async *stream(request: ProviderRequest): AsyncGenerator<StreamEvent> {
      const ctx = context(request.model);
      const body = await prepare(request, ctx, true);
      const { client, fail } = clientFor(ctx, request.signal, true);
      let parts: AsyncIterable<unknown> & { abort(): void };
      try {
        parts = await client.chat(body as OllamaChatRequest & { stream: true });
      } catch (error) {
        throw fail(error);
      }

      const think = new ThinkTagSplitter();
      const collector = new TextToolCallCollector(request.tools ?? []);
      let last: ChatPart | undefined;
      let nativeCalls = 0;
      let done = false;
      const logprobs: TokenLogprob[] = [];
      try {
        for await (const raw of parts) {
          const parsed = chatSchema.safeParse(raw);
          if (!parsed.success) throw responseMismatch(ctx, '/api/chat stream line', parsed.error);
          const part = parsed.data;
          if (part.logprobs) logprobs.push(...part.logprobs.map(toTokenLogprob));
          if (part.message.thinking) yield { type: 'reasoning-delta', text: part.message.thinking };
          if (part.message.content) yield* contentEvents(think.push(part.message.content), collector, logprobs);
          for (const call of part.message.tool_calls ?? []) {
            nativeCalls++;
            yield { type: 'tool-call', toolCall: toToolCall(ctx, call) };
          }
          if ((raw as { done?: unknown }).done === true) {
            last = part;
            done = true;
          }
        }
      } catch (error) {
        throw fail(error);
      } finally {
        // The consumer stopped early or the stream failed: cancel the HTTP request.
        if (!done) parts.abort();
      }
      if (request.signal.aborted) throw fail(request.signal.reason);
      if (!last) throw streamCut(ctx, 'the stream ended without its done:true line');
      yield* contentEvents(think.flush(), collector, logprobs);
      const found = nativeCalls > 0 ? { toolCalls: [], text: collector.release() } : collector.finish();
      if (found.text !== '') yield textDelta(found.text, logprobs);
      for (const toolCall of found.toolCalls) yield { type: 'tool-call', toolCall };
      yield {
        type: 'finish',
        finishReason: toFinishReason(last.done_reason, nativeCalls + found.toolCalls.length > 0),
        usage: toUsage(last),
        model: last.model ?? request.model,
      };
    },

    async close(): Promise<void> {
      await agent.close();
    },
  };
}

/** Classify an HTTP error from Ollama, reading its `{"error": "..."}` body. */
async function httpError(ctx: FailureContext, response: Response): Promise<ProviderError> {
  let message: string | undefined;
  try {
    const text = await response.text();
    try {
      const json = JSON.parse(text) as { error?: unknown };
      message = typeof json.error === 'string' ? json.error : text;
    } catch {
      message = text.trim() || undefined;
    }
  } catch {
    message = undefined;
  }
  const code =
    response.status === 400 && message && /does not support tools/i.test(message)
      ? 'UNSUPPORTED'
      : codeForStatus(response.status);
  const error = httpStatusError(ctx, response.status, message, response.headers, code);
  if (code !== 'UNSUPPORTED') return error;
  return new ProviderError({
    code,
    message: error.message,
    fix: `use a model with tool support (e.g. qwen2.5-coder) for requests with tools`,
    provider: ctx.provider,
    model: ctx.model,
    status: response.status,
  });
}

/**
 * Passes an NDJSON body through unchanged, but fails it with a typed error on a line that is not JSON (BAD_RESPONSE),
 * on an `{"error": …}` line (UPSTREAM_ERROR, as Ollama reports failures during a 200 stream), and on a partial last
 * line (STREAM_CUT).
 */
function ndjsonGuard(ctx: FailureContext): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let pending = '';
  const check = (line: string) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw badResponse(ctx, `a stream line is not JSON: ${line.slice(0, 200)}`, error);
    }
    const reported = (value as { error?: unknown } | null)?.error;
    if (reported !== undefined) throw upstreamError(ctx, String(reported));
  };
  return new TransformStream({
    transform(chunk, controller) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) check(line);
      controller.enqueue(chunk);
    },
    flush() {
      pending += decoder.decode();
      if (pending.trim() === '') return;
      try {
        JSON.parse(pending);
      } catch {
        throw streamCut(ctx, `the last line was cut short: ${pending.slice(0, 200)}`);
      }
      check(pending);
    },
  });
}

/** Unity's messages → Ollama's: tool arguments as objects, tool results named by their tool. */
function toOllamaMessages(messages: ChatMessage[]): OllamaMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((message) => toOllamaMessage(message, toolNames));
}

function toOllamaMessage(message: ChatMessage, toolNames: Map<string, string>): OllamaMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content: message.content,
        ...(message.images?.length ? { images: message.images } : {}),
      };
    case 'assistant':
      for (const call of message.toolCalls ?? []) toolNames.set(call.id, call.name);
      return {
        role: 'assistant',
        content: message.content,
        ...(message.reasoning ? { thinking: message.reasoning } : {}),
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    case 'tool': {
      const name = message.toolName ?? toolNames.get(message.toolCallId);
      return { role: 'tool', content: message.content, ...(name ? { tool_name: name } : {}) };
    }
  }
}

/** Ollama's tool call (arguments an object; a string from some servers) → Unity's, with an id when Ollama gave none. */
function toToolCall(ctx: FailureContext, call: z.infer<typeof toolCallSchema>): ToolCall {
  const id = call.id || generateToolCallId();
  const args = call.function.arguments ?? {};
  if (typeof args !== 'string')
    return { id, name: call.function.name, arguments: args, rawArguments: JSON.stringify(args) };
  let parsed: unknown;
  try {
    parsed = args.trim() === '' ? {} : JSON.parse(args);
  } catch (error) {
    throw badResponse(
      ctx,
      `the arguments of tool call ${call.function.name} are not valid JSON: ${args.slice(0, 200)}`,
      error,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badResponse(ctx, `the arguments of tool call ${call.function.name} are not a JSON object`);
  }
  return { id, name: call.function.name, arguments: parsed as Record<string, unknown>, rawArguments: args };
}

/**
 * The context length in `/api/show`'s `model_info`: `"<arch>.context_length"` for the architecture named by
 * `general.architecture`, else any `*.context_length`. Empty when none is given.
 */
export function contextLengthOf(info: Record<string, unknown>): { contextLength?: number } {
  const arch = info['general.architecture'];
  const direct = typeof arch === 'string' ? info[`${arch}.context_length`] : undefined;
  const value =
    typeof direct === 'number'
      ? direct
      : Object.entries(info).find(([key, v]) => key.endsWith('.context_length') && typeof v === 'number')?.[1];
  return typeof value === 'number' && value > 0 ? { contextLength: value } : {};
}

function toUsage(part: ChatPart): Usage {
  const inputTokens = part.prompt_eval_count ?? 0;
  const outputTokens = part.eval_count ?? 0;
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

function toFinishReason(reason: string | undefined, toolCalls: boolean): FinishReason {
  if (toolCalls) return 'tool_calls';
  if (reason === 'stop' || reason === 'length') return reason;
  return reason === undefined ? 'stop' : 'other';
}
