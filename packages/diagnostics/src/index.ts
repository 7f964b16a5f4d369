export {
  type Check,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  overallStatus,
  runChecks,
} from './check';
export { type CheckPlan, type ConfigChecksOptions, checksFromConfig } from './checks-from-config';
export {
  type CloudCheckOptions,
  type CloudEndpointCheckOptions,
  cloudEndpointCheck,
  cloudKeyCheck,
} from './cloud-checks';
export { type ConfigOutcome, configCheck } from './config-check';
export {
  type DeepCheckOptions,
  firstTokenLatencyCheck,
  type LatencyCheckOptions,
  toolCallCheck,
} from './deep-checks';
export { type DoctorOptions, planDoctor } from './doctor-plan';
export {
  type Availability,
  type HealthChange,
  HealthMonitor,
  type HealthMonitorEvents,
  type HealthMonitorOptions,
  isResultUp,
} from './health-monitor';
export {
  type CpuTimes,
  type DiskUsage,
  HostCpuMeter,
  type HostMemory,
  ProcessCpuMeter,
  type ProcessCpuMeterOptions,
  readDiskUsage,
  readHostMemory,
  readLoadAverage,
} from './host-usage';
export { describeProbeFailure, type ProbeOptions, type ProbeResult, probeJson } from './http-probe';
export { type MemoryCheckOptions, type MemoryReading, memoryCheck } from './memory-check';
export { benchChartSvg } from './model-bench/bench-chart';
export {
  type BenchModel,
  type BenchModelsOptions,
  type BenchStreamEvent,
  benchModelsFromConfig,
} from './model-bench/bench-model';
export {
  type BenchPrice,
  type BenchPriceSources,
  type BenchPrices,
  benchPrices,
} from './model-bench/bench-prices';
export {
  type BenchCheck,
  type BenchTask,
  defaultBenchTasks,
  parseBenchTasks,
} from './model-bench/bench-task';
export type { BenchTaskResult } from './model-bench/measure-task';
export {
  type ModelBenchEvent,
  type ModelBenchOptions,
  type ModelBenchResult,
  type ModelBenchSummary,
  runModelBench,
} from './model-bench/run-model-bench';
export { nodeVersionCheck } from './node-version-check';
export {
  type CapabilitiesCheckOptions,
  modelCapabilitiesCheck,
  modelPulledCheck,
  type OllamaCheckOptions,
  ollamaReachableCheck,
  startOllamaFix,
} from './ollama-checks';
export { providerModel } from './provider-model';
export {
  checkRequiredModels,
  describeRequiredModelProblems,
  type RequiredModelsOptions,
  requiredModelsError,
} from './required-models';
export { type SandboxCheckOptions, sandboxCheck } from './sandbox-check';
export { type StoreCheckOptions, storeModelsCheck } from './store-check';
