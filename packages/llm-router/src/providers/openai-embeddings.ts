import { redactUrl } from '@unity/core';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { Agent, interceptors } from 'undici';
import { z } from 'zod';
import type { EmbeddingProvider, EmbeddingProviderRequest, EmbeddingProviderResult } from '../embedding-provider';
import { ProviderError } from '../errors';
import { type FailureContext, httpStatusError, responseMismatch, transportError, upstreamError } from './http-errors';
import { isLoopbackUrl } from './loopback';
import { createUndiciFetch } from './undici-fetch';

interface OpenAIEmbeddingProviderOptions {
  /** The provider's name in attempts, events and errors (e.g. `openai`). */
  id: string;
  /** The API root, up to and including `/v1`. */
  baseURL: string;
  apiKey?: string;
  /** Where the key comes from (e.g. `OPENAI_API_KEY`), named in the fix of authentication errors. */
  apiKeyVariable?: string;
  /** Whether requests leave this machine. Default: true unless `baseURL` is a loopback address. */
  remote?: boolean;
}

const responseSchema = z.object({
  data: z
    .array(z.object({ index: z.number().int().min(0), embedding: z.union([z.string(), z.array(z.number())]) }))
    .min(1),
  usage: z.object({ prompt_tokens: z.number().optional() }).nullish(),
});

/** OpenAI's `encoding_format: "base64"`: little-endian float32 bytes. */
function decodeBase64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4)));
}

/**
 * Embeddings from an OpenAI-compatible server (`POST {base}/embeddings`: OpenAI, vLLM, LM Studio, llama.cpp server,
 * Ollama's /v1), through the official `openai` client with its retries off (the embedder retries). Vectors are asked
 * for as base64 (a quarter of the bytes of JSON numbers) and read in either form, since some compatible servers ignore
 * the format.
 */
export function createOpenAIEmbeddingProvider(options: OpenAIEmbeddingProviderOptions): EmbeddingProvider {
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey ?? 'unused',
    organization: null,
    project: null,
    webhookSecret: null,
    logLevel: 'off',
    maxRetries: 0,
    fetch: createUndiciFetch(agent.compose(interceptors.redirect({ maxRedirections: 5 }))),
    defaultHeaders: options.apiKey ? {} : { Authorization: null },
  });
  const shown = redactUrl(options.baseURL);
  const context = (model: string): FailureContext => ({
    provider: options.id,
    model,
    endpoint: shown,
    fixes: {
      connection: `check that the server at ${shown} is running and reachable (cloud_llm.base_url)`,
      auth: `set ${options.apiKeyVariable ?? 'the API key variable'} to a valid key for ${shown}`,
      modelNotFound: `check the model name under models.embedding: GET ${shown}/models lists what this server offers`,
    },
  });

  const classify = (ctx: FailureContext, error: unknown, signal: AbortSignal): ProviderError => {
    if (ProviderError.isInstance(error) || signal.aborted)
      return transportError(ctx, error, signal, { afterHeaders: true });
    if (error instanceof APIError && typeof error.status === 'number') {
      const body = error.error as { message?: unknown } | undefined;
      const said = typeof body?.message === 'string' ? body.message : error.message;
      return httpStatusError(ctx, error.status, said, error.headers);
    }
    if (error instanceof APIConnectionTimeoutError) {
      return transportError(ctx, Object.assign(error, { code: 'UND_ERR_HEADERS_TIMEOUT' }), signal, {
        afterHeaders: false,
      });
    }
    if (error instanceof APIConnectionError)
      return transportError(ctx, error.cause ?? error, signal, { afterHeaders: false });
    if (error instanceof APIError) return upstreamError(ctx, error.message, 'UPSTREAM_ERROR', error);
    // The body broke off after the headers (undici's "terminated"), or was not JSON (SyntaxError).
    return transportError(ctx, error, signal, { afterHeaders: true });
  };

  return {
    id: options.id,
    remote: options.remote ?? !isLoopbackUrl(options.baseURL),

    async embed(request: EmbeddingProviderRequest): Promise<EmbeddingProviderResult> {
      const ctx = context(request.model);
      let raw: unknown;
      try {
        raw = await client.embeddings.create(
          {
            model: request.model,
            input: request.input,
            encoding_format: 'base64',
            ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
          },
          { signal: request.signal },
        );
      } catch (error) {
        throw classify(ctx, error, request.signal);
      }
      const parsed = responseSchema.safeParse(raw);
      if (!parsed.success) throw responseMismatch(ctx, 'embeddings response', parsed.error);
      const data = [...parsed.data.data].sort((a, b) => a.index - b.index);
      return {
        embeddings: data.map((d) => (typeof d.embedding === 'string' ? decodeBase64(d.embedding) : d.embedding)),
        inputTokens: parsed.data.usage?.prompt_tokens ?? 0,
      };
    },

    async close() {
      await agent.close();
    },
  };
}
