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
export { type AuditEntry, AuditLog, type AuditLogOptions } from './audit-log';
export {
  type BreakerChange,
  type BreakerChangeReason,
  type BreakerPermit,
  type BreakerState,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './circuit-breaker';
export {
  type ConfigSections,
  type ConfigWith,
  cloudApiKeyEnv,
  defaultConfig,
  defaultConfigPath,
  defaultOllamaHost,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  ollamaHost,
  parseConfig,
} from './config';
export {
  type CloudProvider,
  cloudProviders,
  type RouterRole,
  routerRoles,
  type UnityConfig,
  type UnityConfigInput,
  unityConfigSchema,
} from './config-schema';
export {
  type Attempt,
  ConfigError,
  type ConfigErrorCode,
  ProviderError,
  type ProviderErrorCode,
  type ProviderErrorOptions,
  RouterError,
  type RouterErrorCode,
  type RouterErrorOptions,
} from './errors';
export { lastResortEnabled } from './last-resort';
export {
  type GgufHeader,
  type GgufSummary,
  type GgufValue,
  isGgufFile,
  readGgufHeader,
  summarizeGguf,
} from './model-store/gguf-header';
export { ModelStoreError, type ModelStoreErrorCode } from './model-store/model-store-error';
export { type PullOptions, type PullProgress, type PullResult, pullModel, resolvePullSource } from './model-store/pull';
export {
  findDefaultStoreModel,
  listModels,
  removeModel,
  resolveStoreModel,
  type StoredModel,
} from './model-store/store';
export { defaultModelStoreDir, type ModelStoreDirOptions, modelStoreDir } from './model-store/store-dir';
export { type ModelRef, modelPrefixes, type ProviderKind, parseModelString } from './model-string';
export type { ModelCapabilities, Provider, ProviderRequest, StreamEvent } from './provider';
export { defaultBaseUrls, providerIdFor } from './provider-factory';
export {
  createLlamaCppProvider,
  type LlamaCppEvent,
  type LlamaCppProviderOptions,
  type PromptFormat,
  type ToolChoice,
} from './providers/llamacpp';
export { contextLengthOf, createOllamaProvider, type OllamaProviderOptions } from './providers/ollama';
export { createOpenAICompatibleProvider, type OpenAICompatibleProviderOptions } from './providers/openai-compatible';
export { createRouter, Router, type RouterOptions } from './router';
export type { RouterEventMap, RouterEventName, Target } from './router-events';
export type { RoleModel, RouterRequest, RouterResponse, RouterStreamEvent } from './router-types';
export {
  extractTextToolCalls,
  generateToolCallId,
  mayBeTextToolCall,
  TextToolCallCollector,
  type TextToolCalls,
  validateToolArguments,
} from './tool-call-text';
