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
export { ConfigError, type ConfigErrorCode } from './errors';
export { type ModelRef, modelPrefixes, type ProviderKind, parseModelString } from './model-string';
