import type {
  ChatMessage,
  FinishReason,
  JsonSchema,
  ReasoningEffort,
  TokenLogprob,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
} from './messages';

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  /** Ask for JSON output, optionally constrained to a schema. */
  responseFormat?: { type: 'json'; schema?: JsonSchema };
  temperature?: number;
  /** The cap on the reply of this one call, in tokens (not a run's budget: see `RunBudget`). */
  maxOutputTokens?: number;
  stop?: string[];
  seed?: number;
  /** How the model must use `tools`: `auto` (the default), `none`, `required` (at least one call), or one named tool. */
  toolChoice?: ToolChoice;
  /** Whether the model may make several tool calls in one turn (default: the provider's). */
  parallelToolCalls?: boolean;
  /** Nucleus sampling: sample from the smallest set of tokens whose probabilities add up to this (0–1). */
  topP?: number;
  /** Sample from the k most likely tokens only (Ollama, llama.cpp). */
  topK?: number;
  /** Penalise tokens by how often they already appear (-2–2). */
  frequencyPenalty?: number;
  /** Penalise tokens that already appear at all (-2–2). */
  presencePenalty?: number;
  /** Return the log probability of each output token, with the `top` most likely alternatives at each (0–20). */
  logprobs?: { top: number };
  /**
   * How much the model should think before it answers, where the model lets the caller choose (OpenAI's
   * `reasoning_effort`, Ollama's `think`, Anthropic's `thinking`); `none` asks for no thinking.
   */
  reasoningEffort?: ReasoningEffort;
  /** The end user, passed to upstreams that monitor abuse per user (OpenAI's `user`); never used for routing. */
  user?: string;
  signal?: AbortSignal;
}

export interface ChatResponse {
  content: string;
  toolCalls: ToolCall[];
  reasoning?: string;
  usage: Usage;
  finishReason: FinishReason;
  /** The model that answered, as the provider names it. */
  model: string;
  /** Log probabilities of the output tokens, when the request asked for them. */
  logprobs?: TokenLogprob[];
}

/**
 * The smallest contract for "a chat model": what the evolution loop and the agent loop need, and what the router
 * (or any adapter a user writes) satisfies.
 */
export interface ChatModel {
  chat(request: ChatRequest): Promise<ChatResponse>;
}
