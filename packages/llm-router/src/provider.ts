import type { ChatRequest, ChatResponse, FinishReason, TokenLogprob, ToolCall, Usage } from '@unity/core';
import type { ProviderKind } from './model-string';

/** A request as a provider receives it: the chat request plus the model to use and a signal it must honour. */
export interface ProviderRequest extends Omit<ChatRequest, 'signal'> {
  model: string;
  signal: AbortSignal;
}

/** One event of a normalised stream. Every provider's stream ends with exactly one `finish` or throws. */
export type StreamEvent =
  | { type: 'text-delta'; text: string; logprobs?: TokenLogprob[] }
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
 * Which request options a provider honours itself. The router sends a request that uses an option a provider cannot
 * honour (`logprobs`, `topK`, `penalties`) to another model of the chain, or refuses it naming the option; it enforces
 * `toolChoice` and `parallelToolCalls` itself for providers that lack them (tools dropped for `none`, the answer
 * checked and retried for `required` or a named tool, extra calls dropped when parallel calls are off).
 */
export interface ProviderFeatures {
  toolChoice: boolean;
  parallelToolCalls: boolean;
  logprobs: boolean;
  topK: boolean;
  /** `frequencyPenalty` and `presencePenalty`. */
  penalties: boolean;
  /** `reasoningEffort` other than `none` (any provider honours `none` by not thinking). */
  reasoning: boolean;
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
  /** What it honours of the optional request fields. Absent: all of them (it passes them on). */
  readonly features?: ProviderFeatures;
  chat(request: ProviderRequest): Promise<ChatResponse>;
  stream(request: ProviderRequest): AsyncIterable<StreamEvent>;
  /** Capabilities of a model, cached by the provider. Undefined when the provider cannot tell. */
  capabilities?(model: string, signal?: AbortSignal): Promise<ModelCapabilities | undefined>;
  /** Release sockets, loaded models and other resources. */
  close?(): Promise<void>;
}
