import type { FastifyInstance } from 'fastify';
import { ChatExchange, type ExchangeDeps } from './chat-exchange';
import type { ModelCatalog } from './model-catalog';
import { refuseUnservable, responsesSchema, responsesToChatRequest } from './responses-request';
import { responsesWire } from './responses-wire';
import { validateBody } from './validate-body';

/**
 * OpenAI's Responses API: POST /v1/responses (JSON or typed SSE events). Stateless: nothing is stored, so `store` is
 * answered with `store: false` and what needs a stored response (`previous_response_id`, `conversation`) gets a 400.
 */
export function registerResponsesRoutes(app: FastifyInstance, deps: ExchangeDeps & { catalog: ModelCatalog }): void {
  app.post('/v1/responses', async (request, reply) => {
    const body = validateBody(responsesSchema, request.body, 'POST /v1/responses');
    refuseUnservable(body);
    const chat = responsesToChatRequest(body);
    const model = deps.catalog.resolve(body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, responsesWire(body), model).run(chat, body.stream === true);
  });
}
