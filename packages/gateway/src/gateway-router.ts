import type { ChatRequest, ChatResponse, TokenLogprob, ToolCall } from '@unity/core';

/**
 * The part of `@unity/llm-router`'s Router the gateway uses. Declared structurally so the gateway depends on the
 * router's documented behaviour only: the real Router satisfies it.
 */
export interface GatewayRouter {
  chat(request: GatewayChatRequest): Promise<GatewayChatResponse>;
  stream(request: GatewayChatRequest): AsyncIterable<GatewayStreamEvent>;
  /**
   * The router's events (`attempt-start`, `attempt`, `breaker`, `fallback`, `retry`, `cache-hit`, …), emitted
   * synchronously inside the call they belong to. Optional: without it, stream headers cannot name the provider.
   */
  // biome-ignore lint/suspicious/noExplicitAny: matches EventEmitter's listener signature
  on?(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: matches EventEmitter's listener signature
  off?(event: string, listener: (...args: any[]) => void): unknown;
}

/** Which provider and model an attempt is for (router events). */
export interface GatewayTarget {
  provider: string;
  model: string;
}

/** A chat request plus the router's routing fields. */
export interface GatewayChatRequest extends ChatRequest {
  role?: string;
  localOnly?: boolean;
  model?: string;
  /** `false`: bypass the router's response cache (each of `n` samples must be drawn anew). */
  cache?: boolean;
}

export interface GatewayAttempt {
  provider: string;
  model: string;
  ok: boolean;
  error?: { code: string; message: string } | undefined;
  ms: number;
  /** True when nothing was sent (breaker open, no key, provider reported down). */
  skipped?: boolean;
}

/** The router's answer: the chat response plus who served it and how. */
export interface GatewayChatResponse extends ChatResponse {
  provider: string;
  attempts: GatewayAttempt[];
  /** True when the answer came from the router's cache. */
  cached?: boolean;
}

/** The router's stream events. `finish` carries the whole response; `error` arrives only after the commit point. */
export type GatewayStreamEvent =
  | { type: 'text-delta'; text: string; logprobs?: TokenLogprob[] }
  | { type: 'reasoning-delta'; text: string }
  | { type: 'tool-call'; toolCall: ToolCall }
  | { type: 'finish'; response: GatewayChatResponse }
  | { type: 'error'; error: unknown };
