import type { BreakerChange } from './circuit-breaker';
import type { Attempt, RouterError } from './errors';
import type { RouterRequest, RouterResponse } from './router-types';

/** Which provider and model an event is about. */
export interface Target {
  provider: string;
  /** The model string as configured (`ollama_chat/qwen2.5-coder:7b`). */
  model: string;
}

/**
 * Everything the router does, as typed events for apps to log or plot. Every event of one call carries the same
 * `requestId`. Listeners run synchronously inside the call: keep them cheap.
 */
export interface RouterEventMap {
  /**
   * A call began (before its chain is resolved). `model`: the request's own model string, if it named one;
   * `request`: the request as the caller gave it (read it, never change it).
   */
  'request-start': [
    { requestId: number; kind: 'chat' | 'stream'; role: string; model?: string; request: Readonly<RouterRequest> },
  ];
  /** An attempt is about to be sent. `probe`: it is the half-open breaker's single probe. */
  'attempt-start': [Target & { requestId: number; try: number; probe: boolean }];
  /** An attempt ended, or a model was skipped without sending anything (`skipped`). */
  attempt: [Attempt & { requestId: number }];
  /** The same provider is tried again after `delayMs`. */
  retry: [Target & { requestId: number; try: number; delayMs: number; error: { code: string; message: string } }];
  /** The router moved on from a failed model to the next one. */
  fallback: [{ requestId: number; from: Target; to: Target; reason: { code: string; message: string } }];
  /**
   * Every model of the chain failed; the model store's `name` is tried through the embedded engine (llamacpp) as the
   * last resort (`router.last_resort: store`). `attempts`: the chain's failures so far. Whether it answered comes in
   * `request-end` (the answering attempt has `lastResort: true`).
   */
  'last-resort': [Target & { requestId: number; name: string; path: string; attempts: Attempt[] }];
  /** A provider's circuit changed state. */
  breaker: [BreakerChange];
  /** An answer came from the response cache; nothing was sent. */
  'cache-hit': [Target & { requestId: number }];
  /**
   * The response cache was asked for a request (before `cache-hit` on a hit; not for `cache: false` or `'refresh'`).
   * `layer`: the layer that answered, absent on a miss; `semantic`: the semantic layer was consulted (the exact one
   * missed and the request could be embedded); `similarity`: the best cosine similarity it found in the same scope.
   */
  'cache-lookup': [
    { requestId: number; hit: boolean; layer?: 'exact' | 'semantic'; semantic: boolean; similarity?: number },
  ];
  /**
   * The cache could not use its store (`sqlite`, `redis`, `shared`) or the embedding chain (`embedding`): a read was a
   * miss, a write was dropped, the request went on. Once per outage (again only after the store worked in between).
   */
  'cache-error': [{ store: string; operation: string; error: unknown }];
  /** Old turns were dropped to fit a model's context (only with `router.context_overflow: compact`). */
  compacted: [Target & { requestId: number; droppedMessages: number; estimatedTokens: number; contextLength: number }];
  /** The call is over: answered (`response`), or failed (`error`). */
  'request-end': [
    {
      requestId: number;
      kind: 'chat' | 'stream';
      ok: boolean;
      ms: number;
      response?: RouterResponse;
      error?: RouterError;
    },
  ];
  /** The audit trail could not be written; the call itself was not affected. */
  'audit-error': [{ requestId: number; error: unknown }];
}

export type RouterEventName = keyof RouterEventMap;
