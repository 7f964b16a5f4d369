export {
  type ActivitySummaryOptions,
  countToolOutcomes,
  summariseActivity,
  type ToolCallOutcomes,
} from './activity-summary';
export {
  type AgentConfigSection,
  type AgentConfigSource,
  type AgentSettings,
  agentConfigSection,
  agentSettingsFromConfig,
} from './agent-config';
export type { AgentEvent, AgentEventType, AgentListener } from './agent-events';
export { defaultMaxIterations, runAgent } from './agent-loop';
export { type AgentOptions, validateAgentOptions } from './agent-options';
export type { AgentResult, StopReason } from './agent-result';
export { type AgentTracing, runTracedAgent } from './agent-tracing';
export {
  type CallShape,
  callFingerprint,
  callPaths,
  canonicalArguments,
  canonicalPath,
  normaliseWhitespace,
  resultFingerprint,
} from './call-fingerprint';
export { type CallRecord, toCallRecord } from './call-record';
export {
  type Compaction,
  ContextCompactor,
  type ContextOptions,
  promptTokenBudget,
} from './context-compaction';
export {
  type ConvergenceThreshold,
  convergenceSchedule,
  defaultConvergenceWarnings,
  type ReminderLevel,
  reminderLevels,
  thresholdsCrossed,
} from './convergence-warnings';
export { ConvergenceError, type ConvergenceErrorCode } from './errors';
export { finalAnswerRequest, nudgeMessage, type ReminderFacts, reminderMessage } from './reminders';
export { StuckDetector, type StuckKind, type StuckOptions, type StuckPattern } from './stuck-detector';
export { estimateTokens } from './token-estimate';
export type { AgentToolExecutor, AgentToolResult } from './tool-executor';
