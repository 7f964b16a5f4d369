import { randomUUID } from 'node:crypto';
import type { Redactor } from '@unity/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { GatewayError, redactGatewayError } from './errors';
import type { EventBus } from './event-bus';
import type { GatewayAttempt } from './gateway-router';
import type { InflightRequests } from './inflight';
import { recordServedUsage } from './keys/served-usage';
import type { GatewayMetrics } from './metrics';
import { attemptsHeader, toGatewayError } from './upstream-error';
import { validateBody } from './validate-body';

/** What the gateway needs of `@unity/llm-router`'s Embedder (or of a router with an `embed` delegate). */
export interface GatewayEmbedder {
  embed(request: {
    input: string[];
    model?: string;
    dimensions?: number;
    truncate?: boolean;
    signal?: AbortSignal;
  }): Promise<GatewayEmbedResponse>;
  /** The embedding chain (`models.embedding`), in order. */
  readonly models: readonly string[];
}

export interface GatewayEmbedResponse {
  embeddings: number[][];
  /** The model string that answered. */
  model: string;
  provider: string;
  usage: { inputTokens: number };
  attempts: GatewayAttempt[];
}

interface EmbeddingsDeps {
  /** Absent: the embeddings endpoints answer 404 with the fix. */
  embedder: GatewayEmbedder | undefined;
  metrics: GatewayMetrics;
  bus: EventBus;
  inflight: InflightRequests;
  redactor: Redactor;
}

/** The name that stands for the whole embedding chain, with fallback. */
const embeddingChainName = 'embedding';

const text = z.string().min(1, 'an empty string cannot be embedded');

const openaiBody = z.object({
  model: z.string().min(1),
  input: z.union([text, z.array(text).min(1).max(2048)], {
    error: 'expected a non-empty string or a list of 1 to 2048 non-empty strings (token-id input is not supported)',
  }),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});

const ollamaEmbedBody = z.object({
  model: z.string().min(1),
  input: z.union([text, z.array(text)]).nullish(),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().nonnegative().nullish(),
  keep_alive: z.union([z.string(), z.number()]).nullish(),
  options: z.record(z.string(), z.unknown()).nullish(),
});

const ollamaLegacyBody = z.object({
  model: z.string().min(1),
  prompt: z.string().nullish(),
  keep_alive: z.union([z.string(), z.number()]).nullish(),
  options: z.record(z.string(), z.unknown()).nullish(),
});

const bareName = (modelString: string) => modelString.slice(modelString.indexOf('/') + 1).replace(/:latest$/, '');

/**
 * The chain a requested name stands for: `embedding` is the whole `models.embedding` chain; a configured model string
 * (`ollama/nomic-embed-text`) or its bare name (`nomic-embed-text`, `nomic-embed-text:latest`) is that model alone,
 * without fallback to another (its vectors would be of another space). Anything else is a 404 listing the names.
 */
function resolveModel(embedder: GatewayEmbedder, name: string): string | undefined {
  if (name === embeddingChainName) return undefined;
  const found =
    embedder.models.find((m) => m === name) ??
    embedder.models.find((m) => bareName(m) === name.replace(/:latest$/, ''));
  if (found) return found;
  throw new GatewayError({
    code: 'UNKNOWN_MODEL',
    status: 404,
    param: 'model',
    message: `embedding model "${name}" is not served here; known embedding models: ${[embeddingChainName, ...embedder.models].join(', ')}`,
    fix: `send model "${embeddingChainName}" (the models.embedding chain, with fallback) or one of its model strings`,
  });
}

function needEmbedder(deps: EmbeddingsDeps): GatewayEmbedder {
  if (deps.embedder) return deps.embedder;
  throw new GatewayError({
    code: 'NOT_FOUND',
    status: 404,
    message: 'this gateway serves no embeddings',
    fix: 'start it with an embedder (startServer creates one from models.embedding)',
  });
}

/**
 * Embed through the embedder for one request: the client's disconnect and the gateway's shutdown cancel it, metrics
 * and the live feed see it, and the answer carries the x-unity-* headers.
 */
async function serve(
  deps: EmbeddingsDeps,
  reply: FastifyReply,
  endpoint: string,
  requestedModel: string,
  request: { input: string[]; dimensions?: number; truncate?: boolean },
): Promise<GatewayEmbedResponse> {
  const embedder = needEmbedder(deps);
  const model = resolveModel(embedder, requestedModel);
  const id = randomUUID();
  const started = performance.now();
  const { controller, done } = deps.inflight.begin();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client disconnected'));
  };
  reply.raw.once('close', onClose);
  deps.metrics.requestStarted();
  deps.bus.publish('request.start', { id, endpoint, requestedModel, stream: false });
  let status = 200;
  let response: GatewayEmbedResponse | undefined;
  let failure: GatewayError | undefined;
  try {
    response = await embedder.embed({ ...request, ...(model ? { model } : {}), signal: controller.signal });
    reply.header('x-request-id', id);
    reply.header('x-unity-provider', response.provider);
    reply.header('x-unity-model', response.model);
    if (response.attempts.length > 0) reply.header('x-unity-attempts', attemptsHeader(response.attempts));
    return response;
  } catch (error) {
    failure = redactGatewayError(toGatewayError(error), deps.redactor);
    status = failure.status;
    throw failure;
  } finally {
    done();
    reply.raw.off('close', onClose);
    const ms = performance.now() - started;
    const attempts =
      response?.attempts ?? (failure?.cause as { attempts?: GatewayAttempt[] } | undefined)?.attempts ?? [];
    const provider = response?.provider ?? 'none';
    recordServedUsage(reply.raw, {
      model: response ? `${response.provider}/${response.model}` : undefined,
      inputTokens: response?.usage.inputTokens ?? 0,
      outputTokens: 0,
    });
    deps.metrics.requestFinished({
      endpoint,
      status,
      provider,
      stream: false,
      ms,
      fallback: attempts.some((a) => !a.ok) && response !== undefined,
      ...(response ? { inputTokens: response.usage.inputTokens } : {}),
    });
    deps.bus.publish('request.end', {
      id,
      endpoint,
      requestedModel,
      stream: false,
      status,
      provider,
      model: response?.model ?? null,
      ms: Math.round(ms * 100) / 100,
      ttftMs: null,
      usage: response ? { inputTokens: response.usage.inputTokens } : null,
      attempts,
      fallback: attempts.some((a) => !a.ok) && response !== undefined,
      error: failure ? { code: failure.code, message: failure.message } : null,
    });
  }
}

/** A vector as OpenAI's `encoding_format: "base64"` sends it: little-endian float32 bytes. */
function toBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/**
 * The embeddings endpoints over the embedder: OpenAI's `POST /v1/embeddings` (float or base64, `dimensions`, usage)
 * and Ollama's `POST /api/embed` and legacy `POST /api/embeddings`; errors in each protocol's shape.
 */
export function registerEmbeddingsRoutes(app: FastifyInstance, deps: EmbeddingsDeps): void {
  app.post('/v1/embeddings', async (request, reply) => {
    const body = validateBody(openaiBody, request.body, 'POST /v1/embeddings');
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    const r = await serve(deps, reply, 'openai.embeddings', body.model, {
      input,
      ...(body.dimensions != null ? { dimensions: body.dimensions } : {}),
    });
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: r.embeddings.map((embedding, index) => ({
        object: 'embedding',
        index,
        embedding: base64 ? toBase64(embedding) : embedding,
      })),
      model: body.model,
      usage: { prompt_tokens: r.usage.inputTokens, total_tokens: r.usage.inputTokens },
    };
  });

  app.post('/api/embed', async (request, reply) => {
    const body = validateBody(ollamaEmbedBody, request.body, 'POST /api/embed');
    const input = body.input == null ? [] : typeof body.input === 'string' ? [body.input] : body.input;
    // As Ollama: no input loads the model and returns no vectors.
    if (input.length === 0) {
      if (deps.embedder) resolveModel(deps.embedder, body.model);
      else needEmbedder(deps);
      return { model: body.model, embeddings: [] };
    }
    const started = process.hrtime.bigint();
    const r = await serve(deps, reply, 'ollama.embed', body.model, {
      input,
      ...(body.dimensions ? { dimensions: body.dimensions } : {}),
      ...(body.truncate != null ? { truncate: body.truncate } : {}),
    });
    return {
      model: body.model,
      embeddings: r.embeddings,
      total_duration: Number(process.hrtime.bigint() - started),
      load_duration: 0,
      prompt_eval_count: r.usage.inputTokens,
    };
  });

  app.post('/api/embeddings', async (request, reply) => {
    const body = validateBody(ollamaLegacyBody, request.body, 'POST /api/embeddings');
    if (!body.prompt) {
      if (deps.embedder) resolveModel(deps.embedder, body.model);
      else needEmbedder(deps);
      return { embedding: [] };
    }
    const r = await serve(deps, reply, 'ollama.embeddings', body.model, { input: [body.prompt] });
    return { embedding: r.embeddings[0] ?? [] };
  });
}
