export {
  type ArmStats,
  type Bandit,
  BanditBase,
  type BanditPolicy,
  banditPolicies,
  createBandit,
  DiscountedUcbBandit,
  SlidingWindowUcbBandit,
  ThompsonBandit,
  Ucb1Bandit,
} from './bandit';
export { Cassette, type CassetteMode, type CassetteOptions, cassetteKey } from './cassette';
export { type CommandEvaluatorOptions, commandEvaluator, parseScoreOutput } from './command-evaluator';
export { EvolutionError, type EvolutionErrorCode } from './errors';
export {
  combineEvaluators,
  type Evaluation,
  type EvaluationContext,
  type Evaluator,
  type EvaluatorPart,
  type EvaluatorSpec,
  functionEvaluator,
} from './evaluator';
export { EvolutionLog, type LogLine } from './evolution-log';
export { type EvolutionTracing, runTracedEvolution, type TraceableEvolveOptions } from './evolution-tracing';
export {
  type EvolutionEvent,
  type EvolutionResult,
  type EvolveOptions,
  evolve,
  type StopReason,
} from './evolve';
export {
  type EvolveFileOptions,
  type EvolveFileResult,
  evaluatorFiles,
  evolutionRunId,
  evolveFile,
  type WrittenVariant,
} from './evolve-file';
export {
  type EvolveWorker,
  type EvolveWorkerOptions,
  evaluatorFromSpec,
  startEvolveWorker,
  type WorkerEvent,
} from './evolve-worker';
export { type JudgeEvaluatorOptions, judgeEvaluator } from './judge-evaluator';
export { createRandom, deriveSeed, type Random } from './random';
export { defaultQueueName, type RedisQueueOptions } from './redis-queue';
export { createRemoteEvaluator, type RemoteEvaluator, type RemoteEvaluatorOptions } from './remote-evaluator';
export {
  runSandboxed,
  type SandboxOptions,
  type SandboxResult,
  type SandboxRun,
  type SandboxUser,
} from './sandbox';
export { type ScoringOptions, type ScoringWeights, scoringEvaluator } from './scoring';
export { applySearchReplace, parseSearchReplace, type SearchReplaceBlock } from './search-replace';
export {
  type Candidate,
  crossoverStrategy,
  defaultStrategies,
  diffStrategy,
  extractCode,
  gradientStrategy,
  rewriteStrategy,
  type Strategy,
  type StrategyContext,
  simplifyStrategy,
} from './strategies';
export { testCommandEvaluator } from './test-evaluator';
export { parseTestSummary, type TestSummary } from './test-summary';
export {
  createTextgradConfigSection,
  defaultJudgeRubric,
  type EvolutionRole,
  type EvolutionSettings,
  evolutionSettings,
  type ModelChoice,
  parseModelChoice,
  type TextgradConfigSection,
  textgradConfigSection,
} from './textgrad-config';
