// `@unity/gateway/run-report`: report an agent or evolution run to a gateway, whose dashboard shows it live. Apart
// from the root so that a reporting process loads the client and its wire format only, not the server.
export { agentRunEvent } from './agent-run-events';
export { evolutionRunEvent } from './evolution-run-events';
export { type ReportSettings, reportConfigSection, reportEnvBindings } from './report-config';
export {
  type AgentRunEvent,
  type EvolutionRunEvent,
  type RunEvent,
  type RunEventBatch,
  type RunKind,
  runEventBatchSchema,
} from './run-events';
export { RunReportError, type RunReportErrorCode } from './run-report-error';
export {
  type LoopEventOf,
  RunReporter,
  type RunReporterEvent,
  type RunReporterOptions,
  type RunReporterWarningCode,
  type RunReportResult,
} from './run-reporter';
export type { AgentRunTotals, EvolutionRunTotals, RunSummary, StoredRunEvent } from './run-store';
