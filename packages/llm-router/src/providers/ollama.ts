import { type ChatResponse, raceAbort, redactUrl } from '@unity/core';
import type { ModelCapabilities, Provider, ProviderFeatures, ProviderRequest, StreamEvent } from '../provider';
import { type FailureContext, failureContexts, neverAborted, transportError } from './http-errors';
import { type HttpResponse, HttpTransport, isSuccess, readErrorBody, releaseBody } from './http-transport';
import { isLoopbackUrl } from './loopback';
import { type BodySettings, buildChatBody, ollamaHeaders } from './ollama/build-body';
import { cachedPerModel, parseShowResponse } from './ollama/capabilities';
import { ollamaBaseUrl } from './ollama/host';
import { parseChatResponse } from './ollama/parse-response';
import { ChatStreamParser } from './ollama/parse-stream';
import { ollamaStatusError, toolsUnsupported } from './ollama/status-error';

export { contextLengthOf } from './ollama/capabilities';

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

// Ollama has no tool_choice or parallel_tool_calls: the router enforces them.
const features: ProviderFeatures = Object.freeze({
  toolChoice: false,
  parallelToolCalls: false,
  logprobs: true,
  topK: true,
  penalties: true,
  reasoning: true,
});

/**
 * A provider for Ollama's native `/api/chat`, speaking HTTP through undici directly (one keep-alive pool). It sets
 * `num_ctx` from the model's real context length (`/api/show`, capped by `maxContext`), normalises tool arguments
 * (objects in Ollama, JSON strings in OpenAI) and ids, converts tool calls that local models write as text, and turns
 * every failure into a `ProviderError`; the caller's signal cancels the HTTP request.
 */
export function createOllamaProvider(options: OllamaProviderOptions): Provider {
  const settings: BodySettings = { maxContext: options.maxContext ?? defaultMaxContext, keepAlive: options.keepAlive };
  const headersTimeoutMs = options.headersTimeoutMs ?? defaultHeadersTimeoutMs;
  const timeoutName = `headersTimeoutMs = ${headersTimeoutMs}`;
  const transport = new HttpTransport({
    baseUrl: ollamaBaseUrl(options.host),
    headers: ollamaHeaders,
    headersTimeoutMs,
    bodyTimeoutMs: headersTimeoutMs,
  });
  const chatPath = transport.path('/api/chat');
  const showPath = transport.path('/api/show');

  // The host as messages show it: a password written into it never reaches an error, an event or a log.
  const shown = redactUrl(options.host);
  const connection = `start Ollama: \`ollama serve\` (or point ollama.host / OLLAMA_HOST at where it runs; now ${shown})`;
  const auth = `check the credentials the proxy in front of Ollama at ${shown} expects`;
  const context = failureContexts((model) => ({
    provider: options.id,
    model,
    endpoint: shown,
    fixes: { connection, auth, modelNotFound: `\`ollama pull ${model}\`` },
  }));

  const fail = (ctx: FailureContext, error: unknown, signal: AbortSignal | undefined, afterHeaders: boolean) =>
    transportError(ctx, error, signal ?? neverAborted, { afterHeaders, timeoutName });

  /** POST a JSON body; a transport failure or an HTTP error status becomes a ProviderError. */
  const post = async (ctx: FailureContext, path: string, body: string, signal?: AbortSignal) => {
    let response: HttpResponse;
    try {
      response = await transport.post(path, body, signal);
    } catch (error) {
      throw fail(ctx, error, signal, false);
    }
    if (isSuccess(response.statusCode)) return response;
    const { text, failed } = await readErrorBody(response);
    throw ollamaStatusError(ctx, response.statusCode, response.headers, failed ? undefined : text);
  };

  const readJson = async (ctx: FailureContext, response: HttpResponse, signal?: AbortSignal): Promise<unknown> => {
    try {
      return JSON.parse(await response.body.text());
    } catch (error) {
      releaseBody(response);
      throw fail(ctx, error, signal, true);
    }
  };

  // Shared by concurrent requests, so no caller's signal cancels it (each caller stops waiting on its own signal).
  const lookup = cachedPerModel(async (model) => {
    const ctx = context(model);
    const response = await post(ctx, showPath, JSON.stringify({ model }));
    return parseShowResponse(ctx, await readJson(ctx, response));
  });

  const capabilities = (model: string, signal?: AbortSignal): Promise<ModelCapabilities> =>
    signal
      ? raceAbort(lookup(model), signal, (reason) =>
          transportError(context(model), reason, signal, { afterHeaders: false }),
        )
      : lookup(model);

  /** The request's body, once the model is known to take its tools. */
  const prepare = async (ctx: FailureContext, request: ProviderRequest, stream: boolean): Promise<string> => {
    const caps = await capabilities(request.model, request.signal);
    if (request.tools?.length && !caps.tools) throw toolsUnsupported(ctx);
    return JSON.stringify(buildChatBody(request, caps, settings, stream));
  };

  return {
    id: options.id,
    kind: 'ollama',
    remote: options.remote ?? !isLoopbackUrl(options.host),
    features,
    capabilities,

    async chat(request: ProviderRequest): Promise<ChatResponse> {
      const ctx = context(request.model);
      const body = await prepare(ctx, request, false);
      const response = await post(ctx, chatPath, body, request.signal);
      const raw = await readJson(ctx, response, request.signal);
      return parseChatResponse(ctx, raw, request.tools ?? [], request.model);
    },

    async *stream(request: ProviderRequest): AsyncGenerator<StreamEvent> {
      const ctx = context(request.model);
      const { signal } = request;
      const body = await prepare(ctx, request, true);
      const response = await post(ctx, chatPath, body, signal);
      const parser = new ChatStreamParser(ctx, request.tools ?? [], request.model);
      try {
        for await (const chunk of response.body) yield* parser.push(chunk as Buffer);
      } catch (error) {
        throw fail(ctx, error, signal, true);
      } finally {
        // The consumer stopped early or the stream failed: close the connection, which cancels the request upstream.
        releaseBody(response);
      }
      if (signal.aborted) throw fail(ctx, signal.reason, signal, true);
      yield* parser.finish();
    },

    async close(): Promise<void> {
      await transport.close();
    },
  };
}
