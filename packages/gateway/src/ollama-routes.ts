import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChatExchange, type ExchangeDeps } from './chat-exchange';
import type { CatalogModel, ModelCatalog } from './model-catalog';
import { type ModelFacts, ModelFactsReader, ollamaDetails } from './model-facts';
import { pullTarget, servePull } from './ollama-pull';
import {
  ollamaChatSchema,
  ollamaChatToChatRequest,
  ollamaGenerateSchema,
  ollamaGenerateToChatRequest,
  ollamaWire,
} from './ollama-wire';
import { validateBody } from './validate-body';

const showSchema = z.union([z.object({ model: z.string().min(1) }), z.object({ name: z.string().min(1) })]);
const pullSchema = z.union([
  z.object({ model: z.string().min(1), stream: z.boolean().default(true), insecure: z.boolean().optional() }),
  z.object({ name: z.string().min(1), stream: z.boolean().default(true), insecure: z.boolean().optional() }),
]);

/**
 * The Ollama version whose API this gateway speaks (clients gate features on it): /api/chat with tools, `think` and
 * JSON-schema `format`, /api/generate, /api/show with `capabilities` (Ollama 0.6+), /api/tags, /api/ps, /api/pull —
 * the API as the test kit's fake Ollama models it. Unity's own version goes in `unity_version` and `x-unity-version`.
 */
const ollamaApiVersion = '0.12.6';

const startedAt = new Date().toISOString();

/** Ollama's answer to a chat or generate with nothing to say: it loads the model and answers `done_reason: "load"`. */
function loadAnswer(kind: 'chat' | 'generate', model: string) {
  return {
    model,
    created_at: new Date().toISOString(),
    ...(kind === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }),
    done_reason: 'load',
    done: true,
  };
}

/** A served name as /api/tags and /api/ps list it. */
function listing(model: CatalogModel, facts: ModelFacts) {
  return {
    name: model.id,
    model: model.id,
    modified_at: facts.primary?.modifiedAt ?? startedAt,
    // Only what the engines know: a cloud model has no size or digest here.
    size: facts.primary?.sizeBytes ?? 0,
    digest: facts.primary?.digest?.replace(/^sha256:/, '') ?? '',
    details: ollamaDetails(model, facts),
  };
}

/**
 * Ollama's API: /api/chat and /api/generate (NDJSON streaming by default), /api/tags, /api/show, /api/ps, /api/pull,
 * /api/version.
 */
export function registerOllamaRoutes(
  app: FastifyInstance,
  deps: ExchangeDeps & { catalog: ModelCatalog; version: string },
): void {
  app.post('/api/chat', async (request, reply) => {
    const body = validateBody(ollamaChatSchema, request.body, 'POST /api/chat');
    const model = deps.catalog.resolve(body.model);
    // No messages: Ollama loads the model and says so; nothing is sent upstream.
    if (body.messages.length === 0) return loadAnswer('chat', body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, ollamaWire('chat', body.model), model).run(
      ollamaChatToChatRequest(body),
      body.stream,
    );
  });

  app.post('/api/generate', async (request, reply) => {
    const body = validateBody(ollamaGenerateSchema, request.body, 'POST /api/generate');
    const model = deps.catalog.resolve(body.model);
    if (body.prompt === '' && !body.system && !body.images?.length) return loadAnswer('generate', body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, ollamaWire('generate', body.model), model).run(
      ollamaGenerateToChatRequest(body),
      body.stream,
    );
  });

  app.get('/api/tags', async () => {
    const available = deps.router.availableModels
      ? await deps.router.availableModels(AbortSignal.timeout(5_000)).catch(() => [])
      : [];
    const reader = new ModelFactsReader(deps.router);
    const models = deps.catalog.listWith(available);
    return { models: await Promise.all(models.map(async (m) => listing(m, await reader.facts(m)))) };
  });

  app.post('/api/show', async (request) => {
    const body = validateBody(showSchema, request.body, 'POST /api/show');
    const model = deps.catalog.resolve('model' in body ? body.model : body.name);
    const facts = await new ModelFactsReader(deps.router).facts(model);
    const details = ollamaDetails(model, facts);
    return {
      license: '',
      modelfile: '',
      parameters: '',
      template: '',
      details,
      model_info: {
        'general.architecture': details.family,
        ...(facts.contextLength ? { [`${details.family}.context_length`]: facts.contextLength } : {}),
      },
      capabilities: facts.capabilities,
      modified_at: facts.primary?.modifiedAt ?? startedAt,
    };
  });

  app.get('/api/ps', async () => {
    const running = deps.router.runningModels
      ? await deps.router.runningModels(AbortSignal.timeout(5_000)).catch(() => [])
      : [];
    return {
      models: running.map((r) => {
        const model: CatalogModel = { id: r.modelString, route: { model: r.modelString }, local: true };
        const facts: ModelFacts = { primary: r, contextLength: r.contextLength, capabilities: r.capabilities };
        return {
          ...listing(model, facts),
          // The embedded engine keeps a model until the gateway stops: no expiry (Ollama's keep_alive -1 looks alike).
          expires_at: r.expiresAt ?? '9999-12-31T23:59:59Z',
          size_vram: r.sizeVram ?? 0,
          ...(r.contextLength ? { context_length: r.contextLength } : {}),
        };
      }),
    };
  });

  app.post('/api/pull', async (request, reply) => {
    const body = validateBody(pullSchema, request.body, 'POST /api/pull');
    const target = pullTarget('model' in body ? body.model : body.name, deps.catalog);
    await servePull(deps.router, reply, target, body.stream, deps.redactor);
  });

  app.get('/api/version', async (_request, reply) => {
    reply.header('x-unity-version', deps.version);
    return { version: ollamaApiVersion, unity_version: deps.version };
  });
}
