import type { ChatRequest, ChatResponse, FinishReason, ToolCall, Usage } from '@unity/core';
import type { ProviderKind } from './model-string';

/** A request as a provider receives it: the chat request plus the model to use and a signal it must honour. */
export interface ProviderRequest extends Omit<ChatRequest, 'signal'> {
  model: string;
  signal: AbortSignal;
}

/** One event of a normalised stream. Every provider's stream ends with exactly one `finish` or throws. */
export type StreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  | { type: 'tool-call'; toolCall: ToolCall }
  | { type: 'finish'; finishReason: FinishReason; usage: Usage; model: string };

/** What a local model can do, as the provider reports it (Ollama's `/api/show`, the GGUF header). */
export interface ModelCapabilities {
  tools: boolean;
  /** Context window in tokens, when known. */
  contextLength?: number;
}

/**
 * An adapter for one upstream (a MiniMax account, an Ollama host, an embedded engine). Providers translate between
 * Unity's normalised types and the wire protocol, and turn every failure into a `ProviderError` with the right code;
 * they do not retry or fall back — the router does.
 */
export interface Provider {
  /** Stable name used in attempts, events, breaker state and the audit trail (e.g. `minimax`, `ollama`). */
  readonly id: string;
  readonly kind: ProviderKind;
  /** True for providers that send data off the machine (cloud APIs); local-only requests never reach them. */
  readonly remote: boolean;
  chat(request: ProviderRequest): Promise<ChatResponse>;
  stream(request: ProviderRequest): AsyncIterable<StreamEvent>;
  /** Capabilities of a model, cached by the provider. Undefined when the provider cannot tell. */
  capabilities?(model: string, signal?: AbortSignal): Promise<ModelCapabilities | undefined>;
  /** Release sockets, loaded models and other resources. */
  close?(): Promise<void>;
}
