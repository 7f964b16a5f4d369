// `@unity/llm-router/internal`: the building blocks behind the router — providers, the circuit breaker, the audit
// log, tool calls written as text — for tools built on them (diagnostics, benchmarks). Not covered by semver promises
// of the root; the root (`@unity/llm-router`) is what applications use.
export { type AuditEntry, AuditLog, type AuditLogOptions } from './audit-log';
export { readCachedResponse } from './cache/cached-response';
export { responseCacheSetScript } from './cache/redis-scripts';
export {
  type BreakerChange,
  type BreakerChangeReason,
  type BreakerPermit,
  type BreakerState,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './circuit-breaker';
export { lastResortEnabled } from './last-resort';
export type { ModelCapabilities, Provider, ProviderRequest, StreamEvent } from './provider';
export { defaultBaseUrls } from './provider-factory';
export {
  createLlamaCppProvider,
  type LlamaCppEvent,
  type LlamaCppProviderOptions,
  type PromptFormat,
  type ToolChoice,
} from './providers/llamacpp';
export { contextLengthOf, createOllamaProvider, type OllamaProviderOptions } from './providers/ollama';
export { createOpenAICompatibleProvider, type OpenAICompatibleProviderOptions } from './providers/openai-compatible';
export {
  extractTextToolCalls,
  generateToolCallId,
  mayBeTextToolCall,
  TextToolCallCollector,
  type TextToolCalls,
  validateToolArguments,
} from './tool-call-text';
