export { raceAbort } from './abort';
export {
  type BudgetSpent,
  type BudgetStopReason,
  BudgetTracker,
  budgetStopReasons,
  costUsdOf,
  type PriceTable,
  type RunBudget,
  type RunBudgetIssue,
  runBudgetIssue,
  type TokenPrice,
} from './budget';
export { canonicalJson, sha256Hex } from './canonical-json';
export type { ChatModel, ChatRequest, ChatResponse } from './chat-model';
export { describeError, formatError, hasErrorMarker, UnityError, type UnityErrorOptions } from './errors';
export { isLoopbackHost } from './loopback';
export {
  type AssistantMessage,
  addUsage,
  type ChatMessage,
  emptyUsage,
  type FinishReason,
  type JsonSchema,
  type ReasoningEffort,
  type SystemMessage,
  type TokenLogprob,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type ToolMessage,
  type Usage,
  type UserMessage,
} from './messages';
export { editDistance, nearestName } from './nearest-name';
export { isBareOllamaName } from './ollama-name';
export {
  OsSandboxError,
  type OsSandboxErrorCode,
  type OsSandboxMode,
  type OsSandboxPolicy,
  type OsSandboxProbe,
  probeOsSandbox,
  requireOsSandbox,
  runConfined,
  sandboxEnv,
  sandboxedArgv,
  unconfinedWarning,
} from './os-sandbox';
export {
  OutputCapture,
  type ProcessGroupOptions,
  type ProcessGroupResult,
  runProcessGroup,
} from './process-group';
export { minSecretLength, Redactor, redactedMark, redactSecrets, redactUrl, secretForms, urlSecrets } from './redact';
