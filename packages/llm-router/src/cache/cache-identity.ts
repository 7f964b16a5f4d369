import type { RouterRole } from '../config-schema';
import { cacheKey } from '../response-cache';
import type { RouterRequest } from '../router-types';

/** What, besides the request itself, tells two requests apart for the cache. */
export interface CacheContext {
  role: RouterRole;
  localOnly: boolean;
  /** The router's id of the request, for the `cache-lookup` event. */
  requestId?: number;
}

/**
 * Everything about a request that can change its answer, and the tenant (`cacheScope`): two requests share an exact
 * entry only when all of it is equal. Bump `v` when the shape of what is stored changes.
 */
function identity(request: RouterRequest, { role, localOnly }: CacheContext) {
  return {
    v: 2,
    scope: request.cacheScope,
    role,
    localOnly,
    model: request.model,
    tools: request.tools,
    responseFormat: request.responseFormat,
    temperature: request.temperature,
    maxOutputTokens: request.maxOutputTokens,
    stop: request.stop,
    seed: request.seed,
    toolChoice: request.toolChoice,
    parallelToolCalls: request.parallelToolCalls,
    topP: request.topP,
    topK: request.topK,
    frequencyPenalty: request.frequencyPenalty,
    presencePenalty: request.presencePenalty,
    logprobs: request.logprobs,
    reasoningEffort: request.reasoningEffort,
  };
}

/** The exact layer's key: sha256 of the request's identity and all of its messages. */
export function exactKey(request: RouterRequest, context: CacheContext): string {
  return cacheKey({ ...identity(request, context), messages: request.messages });
}

/** What the semantic layer compares: the last user message's text, within a scope that must match exactly. */
export interface SemanticQuery {
  /** sha256 of the identity, every message but the last, and the numbers of the last one. */
  scope: string;
  /** The last user message, embedded and compared by cosine similarity. */
  text: string;
}

/** Numbers as written (`2`, `3.5`, `2024`): a question about 2 + 2 never gets the answer about 2 + 3. */
const numberPattern = /\d+(?:[.,]\d+)*/g;

/**
 * The semantic layer's view of a request, or undefined when it has none: the last message must be a user message with
 * text and no images (a tool result, an assistant prefill or a picture is compared exactly, or not at all). Only that
 * message is compared by meaning: the system prompt, the earlier turns, tools, sampling parameters, model, role,
 * local-only and tenant are compared exactly, and so are the numbers in the last message.
 */
export function semanticQuery(request: RouterRequest, context: CacheContext): SemanticQuery | undefined {
  const last = request.messages.at(-1);
  if (last?.role !== 'user' || (last.images?.length ?? 0) > 0 || last.content.trim() === '') return undefined;
  const numbers = last.content.match(numberPattern) ?? [];
  const scope = cacheKey({
    ...identity(request, context),
    layer: 'semantic',
    messages: request.messages.slice(0, -1),
    numbers,
  });
  return { scope, text: last.content };
}
