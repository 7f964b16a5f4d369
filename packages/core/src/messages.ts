/** A JSON Schema object, as tool parameter lists and structured output use it. */
export type JsonSchema = Record<string, unknown>;

/** One tool call in the shape every provider is normalised to. */
export interface ToolCall {
  /** Provider-issued id, or one Unity generated where the provider gave none (Ollama). */
  id: string;
  name: string;
  /** The arguments parsed into an object. */
  arguments: Record<string, unknown>;
  /** The arguments exactly as the model produced them (a JSON string). */
  rawArguments: string;
}

export interface SystemMessage {
  role: 'system';
  content: string;
}

export interface UserMessage {
  role: 'user';
  content: string;
  /** Base64-encoded images, for multimodal models. */
  images?: string[];
}

export interface AssistantMessage {
  role: 'assistant';
  content: string;
  toolCalls?: ToolCall[];
  /**
   * The model's reasoning, kept apart from the answer. Providers that require it back in the next turn of a tool
   * conversation (MiniMax) receive it again from here.
   */
  reasoning?: string;
}

export interface ToolMessage {
  role: 'tool';
  content: string;
  /** The id of the call this message answers. */
  toolCallId: string;
  /** The tool's name (Ollama's `tool_name`). */
  toolName?: string;
}

export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool offered to a model. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: JsonSchema;
}

/** How a model must use the tools it is offered: as it likes, not at all, at least one call, or this one tool. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** How much a reasoning model thinks before it answers. */
export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high';

/** One output token's log probability, with the most likely alternatives at its position. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  /** The token's UTF-8 bytes, when the provider gives them. */
  bytes?: number[];
  top: { token: string; logprob: number; bytes?: number[] }[];
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}
