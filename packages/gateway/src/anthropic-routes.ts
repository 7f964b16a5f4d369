import type { FastifyInstance } from 'fastify';
import {
  anthropicCountTokensSchema,
  anthropicMessagesSchema,
  anthropicToChatRequest,
  estimateInputTokens,
} from './anthropic-request';
import { anthropicWire } from './anthropic-wire';
import { ChatExchange, type ExchangeDeps } from './chat-exchange';
import type { ModelCatalog } from './model-catalog';
import { validateBody } from './validate-body';

/**
 * Anthropic's Messages API: POST /v1/messages (JSON or SSE events) and POST /v1/messages/count_tokens (an estimate,
 * said so in `x-unity-token-count: estimate`). Anthropic clients send their key as `x-api-key`, which the gateway's
 * key check reads; errors on these paths are in Anthropic's shape (see the gateway's error handler).
 */
export function registerAnthropicRoutes(app: FastifyInstance, deps: ExchangeDeps & { catalog: ModelCatalog }): void {
  app.post('/v1/messages', async (request, reply) => {
    const body = validateBody(anthropicMessagesSchema, request.body, 'POST /v1/messages');
    const chat = anthropicToChatRequest(body);
    const model = deps.catalog.resolve(body.model);
    reply.hijack();
    await new ChatExchange(deps, reply, anthropicWire(body.model), model).run(chat, body.stream === true);
  });

  app.post('/v1/messages/count_tokens', async (request, reply) => {
    const body = validateBody(anthropicCountTokensSchema, request.body, 'POST /v1/messages/count_tokens');
    deps.catalog.resolve(body.model);
    reply.header('x-unity-token-count', 'estimate');
    return { input_tokens: estimateInputTokens(body) };
  });
}
