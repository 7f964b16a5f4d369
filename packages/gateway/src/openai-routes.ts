import type { FastifyInstance } from 'fastify';
import { ChatExchange, type ExchangeDeps } from './chat-exchange';
import type { ModelCatalog } from './model-catalog';
import { openaiChatSchema, openaiToChatRequest, openaiWire } from './openai-wire';
import { validateBody } from './validate-body';

/** OpenAI's API: POST /v1/chat/completions (JSON or SSE) and GET /v1/models. */
export function registerOpenAIRoutes(app: FastifyInstance, deps: ExchangeDeps & { catalog: ModelCatalog }): void {
  const created = Math.floor(Date.now() / 1000);

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

  app.get('/v1/models', async () => ({
    object: 'list',
    data: deps.catalog
      .list()
      .map((m) => ({ id: m.id, object: 'model', created, owned_by: m.local ? 'local' : 'unity' })),
  }));
}
