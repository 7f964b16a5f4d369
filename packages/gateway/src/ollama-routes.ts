import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ChatExchange, type ExchangeDeps } from './chat-exchange';
import type { CatalogModel, ModelCatalog } from './model-catalog';
import {
  ollamaChatSchema,
  ollamaChatToChatRequest,
  ollamaGenerateSchema,
  ollamaGenerateToChatRequest,
  ollamaWire,
} from './ollama-wire';
import { validateBody } from './validate-body';

const showSchema = z.union([z.object({ model: z.string().min(1) }), z.object({ name: z.string().min(1) })]);

const modifiedAt = new Date().toISOString();

function details(m: CatalogModel) {
  const family = m.family ?? (m.local ? 'local' : 'unity');
  return {
    parent_model: '',
    format: m.route.model?.startsWith('llamacpp/') ? 'gguf' : 'unity',
    family,
    families: [family],
    parameter_size: '',
    quantization_level: '',
  };
}

/** Ollama's API: /api/chat and /api/generate (NDJSON streaming by default), /api/tags, /api/show, /api/version. */
export function registerOllamaRoutes(
  app: FastifyInstance,
  deps: ExchangeDeps & { catalog: ModelCatalog; version: string },
): void {
  app.post('/api/chat', async (request, reply) => {
    const body = validateBody(ollamaChatSchema, request.body, 'POST /api/chat');
    const model = deps.catalog.resolve(body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, ollamaWire('chat', body.model), model).run(
      ollamaChatToChatRequest(body),
      body.stream,
    );
  });

  app.post('/api/generate', async (request, reply) => {
    const body = validateBody(ollamaGenerateSchema, request.body, 'POST /api/generate');
    const model = deps.catalog.resolve(body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, ollamaWire('generate', body.model), model).run(
      ollamaGenerateToChatRequest(body),
      body.stream,
    );
  });

  app.get('/api/tags', async () => ({
    models: deps.catalog.list().map((m) => ({
      name: m.id,
      model: m.id,
      modified_at: modifiedAt,
      size: 0,
      digest: '',
      details: details(m),
    })),
  }));

  app.post('/api/show', async (request) => {
    const body = validateBody(showSchema, request.body, 'POST /api/show');
    const model = deps.catalog.resolve('model' in body ? body.model : body.name);
    return {
      license: '',
      modelfile: '',
      parameters: '',
      template: '',
      details: details(model),
      model_info: { 'general.architecture': details(model).family },
      capabilities: ['completion', 'tools'],
      modified_at: modifiedAt,
    };
  });

  app.get('/api/version', async () => ({ version: deps.version }));
}
