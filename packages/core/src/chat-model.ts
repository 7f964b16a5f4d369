import type { ChatMessage, FinishReason, JsonSchema, ToolCall, ToolDefinition, Usage } from './messages';

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
}

/**
 * The smallest contract for "a chat model": what the evolution loop and the agent loop need, and what the router
 * (or any adapter a user writes) satisfies.
 */
export interface ChatModel {
  chat(request: ChatRequest): Promise<ChatResponse>;
}
