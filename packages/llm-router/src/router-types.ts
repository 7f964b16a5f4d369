import type { ChatModel, ChatRequest, ChatResponse, TokenLogprob, ToolCall } from '@unity/core';
import type { RouterRole } from './config-schema';
import type { EnsembleTrace } from './ensembles/ensemble-types';
import type { Attempt, RouterError } from './errors';

/** A chat request plus how to route it. */
export interface RouterRequest extends ChatRequest {
  /** Which local model serves it after the cloud: `models.<role>` (default `reasoning`). */
  role?: RouterRole;
  /** Never send anything to a remote provider (also forced by `privacy.local_only`). */
  localOnly?: boolean;
  /** Bound on the whole request in milliseconds from the call, every attempt and retry included. */
  deadlineMs?: number;
  /**
   * A model string (`ollama_chat/llama3.2:1b`) to try first instead of the cloud model; the role's local models still
   * follow it unless `cloud_llm.fallback_to_local` is false.
   */
  model?: string;
  /**
   * `false`: neither read nor fill the response cache for this request (e.g. for several samples of one prompt;
   * HTTP's `Cache-Control: no-store`). `'refresh'`: do not read it, but keep the new answer (`no-cache`).
   */
  cache?: boolean | 'refresh';
  /**
   * Whose cache entries the request may read and fill: the tenant (the gateway sets the virtual key's id). Requests of
   * different scopes never share an answer, exact or semantic; requests without one share the unscoped entries.
   */
  cacheScope?: string;
}

/** The answer, and how it was made. */
export interface RouterResponse extends ChatResponse {
  /** The provider that answered (`minimax`, `ollama`, …). */
  provider: string;
  /** Every attempt in order, failed and skipped ones included; empty for a cache hit. */
  attempts: Attempt[];
  /** True when the answer came from the response cache. */
  cached?: boolean;
  /** Set when old turns were dropped to fit the model's context (`router.context_overflow: compact`). */
  compacted?: { droppedMessages: number; estimatedTokens: number; contextLength: number };
  /** Set when an ensemble answered (`model: 'ensemble/<name>'`): each member's answer, latency, tokens and cost, and the decision. */
  ensemble?: EnsembleTrace;
}

/**
 * A routed stream. Text, reasoning and tool calls arrive as they come; `finish` carries the whole response. Until the
 * first of them the router may still fall back invisibly; after it, a failure ends the stream with one `error` event
 * (code `STREAM_INTERRUPTED`) — never a silent clean end, never a second model's text.
 */
export type RouterStreamEvent =
  | { type: 'text-delta'; text: string; logprobs?: TokenLogprob[] }
  | { type: 'reasoning-delta'; text: string }
  | { type: 'tool-call'; toolCall: ToolCall }
  | { type: 'finish'; response: RouterResponse }
  | { type: 'error'; error: RouterError };

/** A `ChatModel` bound to one role, with streaming. */
export interface RoleModel extends ChatModel {
  chat(request: ChatRequest & Omit<RouterRequest, 'role'>): Promise<RouterResponse>;
  stream(request: ChatRequest & Omit<RouterRequest, 'role'>): AsyncIterable<RouterStreamEvent>;
}
