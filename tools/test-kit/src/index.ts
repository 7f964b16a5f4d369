export { cosineSimilarity, fakeEmbedding } from './embedding';
export { freePort, listening, sharedModelPath } from './environment';
export { FakeHub, type FakeHubFile, type FakeHubOptions, type FakeHubRequest } from './fake-hub';
export {
  defaultOllamaModel,
  FakeOllama,
  type FakeOllamaModel,
  type FakeOllamaOptions,
  nomicEmbedModel,
} from './fake-ollama';
export { FakeOpenAI, type FakeOpenAIOptions } from './fake-openai';
export {
  type CollectedExport,
  type CollectedSpan,
  FakeOtlpCollector,
  type FakeOtlpCollectorOptions,
} from './fake-otlp-collector';
export { FakeUpstream, type RecordedRequest } from './fake-upstream';
export { FakeWebhookReceiver, type ReceivedWebhook, type WebhookAnswer } from './fake-webhook-receiver';
export { type GatewayConfigOptions, gatewayConfigYaml } from './gateway-config';
export { canStartRedisServer, OwnRedis } from './own-redis';
export type { ChatRequestInfo, Fault, Reply, ScriptedToolCall, Step, StepSource } from './script';
export { seedSystemYaml } from './seed-config';
export { chunkText, countTokens, sleep, type TextToolCallStyle, textToolCall } from './text';
