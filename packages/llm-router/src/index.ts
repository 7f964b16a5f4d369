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
export type { AuditEntry } from './audit-log';
export { CacheError, type CacheErrorCode } from './cache/cache-error';
export type { RouterCacheStats } from './cache/router-cache';
export {
  type ConfigSections,
  type ConfigWith,
  cloudApiKeyEnv,
  cloudNeedsKey,
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
export { type Deployment, type LoadBalancingStrategy, loadBalancingStrategies } from './deployments';
export { defaultEmbeddingModel, embeddingChainOf } from './embedding-config';
export type { EmbeddingProvider, EmbeddingProviderRequest, EmbeddingProviderResult } from './embedding-provider';
export {
  createEmbedder,
  Embedder,
  type EmbedderEventMap,
  type EmbedderOptions,
  type EmbedRequest,
  type EmbedResponse,
} from './embeddings';
export {
  type EnsembleSettings,
  type EnsembleStrategy,
  type ExtractMode,
  ensembleModelStrings,
  ensemblePrefix,
  type HedgePercentile,
  isEnsembleModel,
} from './ensembles/ensemble-config';
export type { EnsembleCallTrace, EnsembleDecision, EnsembleTrace } from './ensembles/ensemble-types';
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
export type { ModelInfo, ModelPullProgress, RunningModel } from './model-inventory';
export { type ModelRef, modelPrefixes, type ProviderKind, parseModelString } from './model-string';
export { providerIdFor } from './provider-factory';
export { createRouter, Router, type RouterOptions } from './router';
export type { RouterEventMap, RouterEventName, Target } from './router-events';
export { type TraceableRouter, traceRouter } from './router-tracing';
export type { RoleModel, RouterRequest, RouterResponse, RouterStreamEvent } from './router-types';
export type {
  BreakerAnnouncement,
  BreakerChannel,
  SharedResponseCache,
  SharedRouterState,
} from './shared-state';
