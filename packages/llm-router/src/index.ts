export type {
  AssistantMessage,
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatResponse,
  FinishReason,
  ToolCall,
  ToolDefinition,
  ToolMessage,
  Usage,
} from '@unity/core';
export { UnityError } from '@unity/core';
export {
  ConfigError,
  type ConfigErrorCode,
  ProviderError,
  type ProviderErrorCode,
  type ProviderErrorOptions,
} from './errors';
export { type ModelRef, modelPrefixes, type ProviderKind, parseModelString } from './model-string';
export type { ModelCapabilities, Provider, ProviderRequest, StreamEvent } from './provider';
export { createOllamaProvider, type OllamaProviderOptions } from './providers/ollama';
export { createOpenAICompatibleProvider, type OpenAICompatibleProviderOptions } from './providers/openai-compatible';
export {
  extractTextToolCalls,
  generateToolCallId,
  mayBeTextToolCall,
  TextToolCallCollector,
  type TextToolCalls,
  validateToolArguments,
} from './tool-call-text';
