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
  /**
   * What is known of a model string (context window, capabilities, family, size, digest); undefined when its provider
   * does not have it. Optional: without it, /api/show and /api/tags report only what the catalog knows.
   */
  modelInfo?(modelString: string, signal?: AbortSignal): Promise<GatewayModelInfo | undefined>;
  /** The models the local engines have (Ollama's pulled models, the model store's files). Optional. */
  availableModels?(signal?: AbortSignal): Promise<GatewayModelInfo[]>;
  /** The models the engines hold loaded now (Ollama's /api/ps, the embedded engine's). Optional: /api/ps is empty. */
  runningModels?(signal?: AbortSignal): Promise<GatewayRunningModel[]>;
  /** Pull a model (Ollama's or into the model store), with progress in Ollama's shape. Optional: /api/pull is 501. */
  pullModel?(modelString: string, signal?: AbortSignal): AsyncIterable<GatewayPullProgress>;
}

/** What the router knows of one model (see `@unity/llm-router`'s `ModelInfo`). */
export interface GatewayModelInfo {
  modelString: string;
  contextLength?: number;
  /** Only what is true: `completion`, `tools`, `embedding`, … */
  capabilities: string[];
  format?: string;
  family?: string;
  families?: string[];
  parameterSize?: string;
  quantization?: string;
  sizeBytes?: number;
  digest?: string;
  modifiedAt?: string;
}

export interface GatewayRunningModel extends GatewayModelInfo {
  expiresAt?: string;
  sizeVram?: number;
}

/** One progress line of a pull, in Ollama's shape. */
export interface GatewayPullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
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
  /**
   * `false`: bypass the router's response cache (each of `n` samples must be drawn anew; `Cache-Control: no-store`);
   * `'refresh'`: do not read it, but keep the new answer (`Cache-Control: no-cache`).
   */
  cache?: boolean | 'refresh';
  /** The tenant whose cache entries the request may read and fill (the caller's key; see cache-directives.ts). */
  cacheScope?: string;
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
