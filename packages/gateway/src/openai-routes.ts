import type { FastifyInstance } from 'fastify';
import { ChatExchange, type ExchangeDeps } from './chat-exchange';
import { completionPrompt, completionSchema, completionsWire, completionToChatRequest } from './completions-wire';
import type { CatalogModel, ModelCatalog } from './model-catalog';
import { openaiChatSchema, openaiToChatRequest, openaiWire } from './openai-wire';
import { validateBody } from './validate-body';

/**
 * OpenAI's API: POST /v1/chat/completions (JSON or SSE), the legacy POST /v1/completions, GET /v1/models and
 * GET /v1/models/{id}.
 */
export function registerOpenAIRoutes(app: FastifyInstance, deps: ExchangeDeps & { catalog: ModelCatalog }): void {
  const created = Math.floor(Date.now() / 1000);
  const modelObject = (m: CatalogModel) => ({
    id: m.id,
    object: 'model',
    created,
    owned_by: m.local ? 'local' : 'unity',
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const body = validateBody(openaiChatSchema, request.body, 'POST /v1/chat/completions');
    const model = deps.catalog.resolve(body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, openaiWire(body), model).run(
      openaiToChatRequest(body),
      body.stream === true,
      body.n ?? 1,
    );
  });

  app.post('/v1/completions', async (request, reply) => {
    const body = validateBody(completionSchema, request.body, 'POST /v1/completions');
    const model = deps.catalog.resolve(body.model);
    const prompt = completionPrompt(body);
    const chat = completionToChatRequest(body, prompt);
    reply.hijack();
    await new ChatExchange(deps, reply, completionsWire(body, prompt), model).run(chat, body.stream === true);
  });

  app.get('/v1/models', async () => {
    const available = deps.router.availableModels
      ? await deps.router.availableModels(AbortSignal.timeout(5_000)).catch(() => [])
      : [];
    return { object: 'list', data: deps.catalog.listWith(available).map(modelObject) };
  });

  // Model ids may hold slashes (`ollama_chat/qwen2.5-coder:7b`, `openai/meta-llama/Llama-3-8B`): the rest of the path.
  app.get('/v1/models/*', async (request) => {
    const id = decodeURIComponent((request.params as { '*': string })['*']);
    return modelObject(deps.catalog.resolve(id));
  });
}
