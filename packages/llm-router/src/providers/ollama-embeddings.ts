import { redactUrl } from '@unity/core';
import { Ollama } from 'ollama';
import { Agent } from 'undici';
import { z } from 'zod';
import {
  type EmbeddingProvider,
  type EmbeddingProviderRequest,
  type EmbeddingProviderResult,
  normalizeVector,
} from '../embedding-provider';
import { ProviderError } from '../errors';
import { codeForStatus, type FailureContext, httpStatusError, responseMismatch, transportError } from './http-errors';
import { isLoopbackUrl } from './loopback';
import { createUndiciFetch } from './undici-fetch';

interface OllamaEmbeddingProviderOptions {
  /** The provider's name in attempts, events and errors (e.g. `ollama`). */
  id: string;
  /** Ollama's address, e.g. `http://127.0.0.1:11434`. */
  host: string;
  /** Ollama's `keep_alive` for the embedding model. */
  keepAlive?: string | number;
  /** How long to wait for response headers and between body chunks, in ms (a cold load takes long). Default 600000. */
  headersTimeoutMs?: number;
  /** Whether requests leave this machine. Default: true unless `host` is a loopback address. */
  remote?: boolean;
}

const embedSchema = z.object({ embeddings: z.array(z.array(z.number())), prompt_eval_count: z.number().optional() });
const legacySchema = z.object({ embedding: z.array(z.number()).min(1) });

/** Thrown inside when /api/embed is not a route of this server (Ollama before 0.3.0). */
class RouteMissing extends Error {}

/**
 * Embeddings from Ollama: `POST /api/embed` (a batch, unit-length vectors, `dimensions`), and on servers older than
 * 0.3.0, which answer it `404 page not found`, the legacy `POST /api/embeddings` one text at a time (its vectors are not
 * normalised: they are scaled to unit length here, so both give the same vectors). Through the official `ollama`
 * client; every failure becomes a `ProviderError`.
 */
export function createOllamaEmbeddingProvider(options: OllamaEmbeddingProviderOptions): EmbeddingProvider {
  const headersTimeoutMs = options.headersTimeoutMs ?? 600_000;
  const timeoutName = `headersTimeoutMs = ${headersTimeoutMs}`;
  const agent = new Agent({ headersTimeout: headersTimeoutMs, bodyTimeout: headersTimeoutMs });
  const send = createUndiciFetch(agent);
  const shown = redactUrl(options.host);
  /** Learnt from the first answer: this server has only the legacy endpoint. */
  let legacy = false;

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

  const clientFor = (ctx: FailureContext, signal: AbortSignal) => {
    const state = { afterHeaders: false };
    const fetchForRequest = async (input: string, init: RequestInit = {}) => {
      let response: Response;
      try {
        response = await send(input, { ...init, signal });
      } catch (error) {
        throw transportError(ctx, error, signal, { afterHeaders: false, timeoutName });
      }
      state.afterHeaders = true;
      if (!response.ok) throw await httpError(ctx, response);
      return response;
    };
    const client = new Ollama({ host: options.host, fetch: fetchForRequest as unknown as typeof fetch });
    const fail = (error: unknown) => {
      if (error instanceof RouteMissing) return error;
      return transportError(ctx, error, signal, { afterHeaders: state.afterHeaders, timeoutName });
    };
    return { client, fail };
  };

  const keepAlive = options.keepAlive === undefined ? {} : { keep_alive: options.keepAlive };

  async function embedBatch(request: EmbeddingProviderRequest, ctx: FailureContext): Promise<EmbeddingProviderResult> {
    const { client, fail } = clientFor(ctx, request.signal);
    let raw: unknown;
    try {
      raw = await client.embed({
        model: request.model,
        input: request.input,
        ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
        ...(request.truncate === undefined ? {} : { truncate: request.truncate }),
        ...keepAlive,
      });
    } catch (error) {
      throw fail(error);
    }
    const parsed = embedSchema.safeParse(raw);
    if (!parsed.success) throw responseMismatch(ctx, '/api/embed response', parsed.error);
    return { embeddings: parsed.data.embeddings, inputTokens: parsed.data.prompt_eval_count ?? 0 };
  }

  async function embedLegacy(request: EmbeddingProviderRequest, ctx: FailureContext): Promise<EmbeddingProviderResult> {
    const embeddings: number[][] = [];
    for (const prompt of request.input) {
      const { client, fail } = clientFor(ctx, request.signal);
      let raw: unknown;
      try {
        raw = await client.embeddings({ model: request.model, prompt, ...keepAlive });
      } catch (error) {
        if (!(error instanceof RouteMissing)) throw fail(error);
        throw new ProviderError({
          code: 'UNSUPPORTED',
          message: `${shown} has neither /api/embed nor /api/embeddings (both answered 404 page not found)`,
          fix: 'check that ollama.host points at an Ollama server',
          provider: ctx.provider,
          model: ctx.model,
          cause: error,
        });
      }
      const parsed = legacySchema.safeParse(raw);
      if (!parsed.success) throw responseMismatch(ctx, '/api/embeddings response', parsed.error);
      embeddings.push(normalizeVector(parsed.data.embedding));
    }
    return { embeddings, inputTokens: 0 };
  }

  return {
    id: options.id,
    remote: options.remote ?? !isLoopbackUrl(options.host),

    async embed(request: EmbeddingProviderRequest): Promise<EmbeddingProviderResult> {
      const ctx = context(request.model);
      if (!legacy) {
        try {
          return await embedBatch(request, ctx);
        } catch (error) {
          if (!(error instanceof RouteMissing)) throw error;
          legacy = true;
        }
      }
      if (request.dimensions !== undefined) {
        throw new ProviderError({
          code: 'UNSUPPORTED',
          message: `Ollama at ${shown} has only the legacy /api/embeddings (before 0.3.0), which cannot shorten vectors to dimensions: ${request.dimensions}`,
          fix: 'upgrade Ollama (0.3.0 or later has /api/embed), or leave dimensions out',
          provider: ctx.provider,
          model: ctx.model,
        });
      }
      return embedLegacy(request, ctx);
    },

    async close() {
      await agent.close();
    },
  };
}

/** Classify an HTTP error from Ollama, reading its `{"error": "..."}` body; a missing /api/embed route is RouteMissing. */
async function httpError(ctx: FailureContext, response: Response): Promise<ProviderError | RouteMissing> {
  const text = await response.text().catch(() => '');
  let message: string | undefined;
  try {
    const json = JSON.parse(text) as { error?: unknown };
    message = typeof json.error === 'string' ? json.error : text;
  } catch {
    // Go's plain-text answer for a route the server does not have (a missing model is a JSON error).
    if (response.status === 404 && text.trim() === '404 page not found') return new RouteMissing();
    message = text.trim() || undefined;
  }
  if (response.status === 400 && message && /does not support embed/i.test(message)) {
    return new ProviderError({
      code: 'UNSUPPORTED',
      message: `${ctx.provider} (${ctx.endpoint}) answered HTTP 400 for model ${ctx.model}: ${message}`,
      fix: 'name an embedding model under models.embedding (e.g. ollama/nomic-embed-text, after `ollama pull nomic-embed-text`)',
      provider: ctx.provider,
      model: ctx.model,
      status: 400,
    });
  }
  return httpStatusError(ctx, response.status, message, response.headers, codeForStatus(response.status));
}
