import { type ChatResponse, redactUrl } from '@unity/core';
import { ProviderError } from '../errors';
import type { Provider, ProviderFeatures, ProviderRequest, StreamEvent } from '../provider';
import { type FailureContext, failureContexts, transportError, upstreamError } from './http-errors';
import {
  type HttpResponse,
  HttpTransport,
  isJsonResponse,
  isSuccess,
  readErrorBody,
  releaseBody,
} from './http-transport';
import { isLoopbackUrl } from './loopback';
import { buildChatBody, buildHeaders, type OpenAICompatibleFlavor } from './openai-compatible/build-body';
import { type ParseOptions, parseChatCompletion } from './openai-compatible/parse-response';
import { ChatStreamParser } from './openai-compatible/parse-stream';
import { statusError, throwIfBaseRespError } from './openai-compatible/upstream-errors';

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
  flavor?: OpenAICompatibleFlavor;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** Where the key comes from (e.g. `MINIMAX_API_KEY`), named in the fix of authentication errors. */
  apiKeyVariable?: string;
  /** Whether requests leave this machine. Default: true unless `baseURL` is a loopback address. */
  remote?: boolean;
}

const features = (flavor: OpenAICompatibleFlavor | undefined): ProviderFeatures => ({
  toolChoice: true,
  parallelToolCalls: true,
  logprobs: true,
  topK: flavor === undefined,
  penalties: true,
  reasoning: true,
});
const genericFeatures = Object.freeze(features(undefined));
const cloudFeatures = Object.freeze(features('openai'));

/**
 * A provider for OpenAI Chat Completions servers, speaking HTTP through undici directly (one keep-alive pool, no
 * retries: the router retries). Every failure becomes a `ProviderError`; the caller's signal cancels the upstream
 * request, and so does a consumer that stops reading a stream.
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleProviderOptions): Provider {
  const { flavor } = options;
  const keyName = options.apiKeyVariable ?? (flavor === 'minimax' ? 'MINIMAX_API_KEY' : 'the API key variable');
  // The router bounds every attempt with its own timeouts (through the signal), so undici's are off.
  const transport = new HttpTransport({
    baseUrl: options.baseURL,
    headers: buildHeaders(options.apiKey, options.headers),
    maxRedirections: 5,
  });
  const chatPath = transport.path('/chat/completions');

  // The address as messages show it: a password written into it never reaches an error, an event or a log.
  const shown = redactUrl(options.baseURL);
  const fixes: FailureContext['fixes'] = {
    connection: `check that the server at ${shown} is running and reachable (cloud_llm.base_url)`,
    auth: `set ${keyName} to a valid key for ${shown}`,
    modelNotFound: `check the model name: GET ${shown}/models lists what this server offers`,
  };
  const context = failureContexts((model) => ({ provider: options.id, model, endpoint: shown, fixes }));
  const parseOptions = (request: ProviderRequest): ParseOptions => ({
    flavor,
    // Only generic servers have their tool calls written as text converted.
    textTools: flavor === undefined ? (request.tools ?? []) : [],
    model: request.model,
  });

  /** POST the request; a missing key, a transport failure or an HTTP error status becomes a ProviderError. */
  const send = async (ctx: FailureContext, request: ProviderRequest, stream: boolean): Promise<HttpResponse> => {
    if (!options.apiKey && flavor !== undefined) {
      throw new ProviderError({
        code: 'AUTH_FAILED',
        message: `${options.id} (${shown}) needs an API key for model ${ctx.model}, and none was given`,
        fix: fixes.auth,
        provider: ctx.provider,
        model: ctx.model,
      });
    }
    const { signal } = request;
    let response: HttpResponse;
    try {
      response = await transport.post(chatPath, JSON.stringify(buildChatBody(request, flavor, stream)), signal);
    } catch (error) {
      throw transportError(ctx, error, signal, { afterHeaders: false });
    }
    if (isSuccess(response.statusCode)) return response;
    const { text } = await readErrorBody(response);
    if (signal.aborted) throw transportError(ctx, signal.reason, signal, { afterHeaders: true });
    throw statusError(ctx, response.statusCode, response.headers, text);
  };

  return {
    id: options.id,
    kind: 'openai-compatible',
    remote: options.remote ?? !isLoopbackUrl(options.baseURL),
    features: flavor === undefined ? genericFeatures : cloudFeatures,

    async close() {
      await transport.close();
    },

    async chat(request: ProviderRequest): Promise<ChatResponse> {
      const ctx = context(request.model);
      const response = await send(ctx, request, false);
      let raw: unknown;
      try {
        const text = await response.body.text();
        // As the official client: a body not declared JSON is text (and then not a completion).
        raw = isJsonResponse(response.headers) ? JSON.parse(text) : text;
      } catch (error) {
        releaseBody(response);
        throw transportError(ctx, error, request.signal, { afterHeaders: true });
      }
      return parseChatCompletion(ctx, raw, parseOptions(request));
    },

    async *stream(request: ProviderRequest): AsyncGenerator<StreamEvent> {
      const ctx = context(request.model);
      const { signal } = request;
      const response = await send(ctx, request, true);
      if (isJsonResponse(response.headers)) await rejectJsonAnswer(ctx, response, signal);
      const parser = new ChatStreamParser(ctx, parseOptions(request));
      try {
        for await (const chunk of response.body) yield* parser.push(chunk as Buffer);
      } catch (error) {
        throw transportError(ctx, error, signal, { afterHeaders: true });
      } finally {
        // The consumer stopped early or the stream failed: close the connection, which cancels the request upstream.
        releaseBody(response);
      }
      if (signal.aborted) throw transportError(ctx, signal.reason, signal, { afterHeaders: true });
      yield* parser.finish();
    },
  };
}

/**
 * A JSON body where an event stream was asked for: MiniMax answers some failures with a plain `base_resp` body under
 * HTTP 200. Always throws.
 */
async function rejectJsonAnswer(ctx: FailureContext, response: HttpResponse, signal: AbortSignal): Promise<never> {
  let json: unknown;
  try {
    json = JSON.parse(await response.body.text());
  } catch (error) {
    releaseBody(response);
    throw transportError(ctx, error, signal, { afterHeaders: true });
  }
  throwIfBaseRespError(ctx, json);
  throw upstreamError(ctx, `expected an event stream, got JSON: ${JSON.stringify(json).slice(0, 200)}`);
}
