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
export { describeProbeFailure, type ProbeOptions, type ProbeResult, probeJson } from './http-probe';
export { type MemoryCheckOptions, type MemoryReading, memoryCheck } from './memory-check';
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
