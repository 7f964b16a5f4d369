// `@unity/llm-router/model-store`: the embedded engine's GGUF model store — pull (resumable, verified), list,
// remove, GGUF headers, and where the store is.
export { type DefaultModel, type DefaultModelOptions, defaultModel, defaultModelPin } from './default-model';
export {
  type GgufHeader,
  type GgufSummary,
  type GgufValue,
  isGgufFile,
  readGgufHeader,
  summarizeGguf,
} from './gguf-header';
export { ModelStoreError, type ModelStoreErrorCode } from './model-store-error';
export { type PullOptions, type PullProgress, type PullResult, pullModel, resolvePullSource } from './pull';
export {
  findDefaultStoreModel,
  listModels,
  removeModel,
  resolveStoreModel,
  type StoredModel,
} from './store';
export { defaultModelStoreDir, type ModelStoreDirOptions, modelStoreDir } from './store-dir';
