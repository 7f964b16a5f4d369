export { builtinDomains } from './builtin-domains';
export {
  type ClassificationMethod,
  type ClassifyTaskOptions,
  classifyTask,
  matchKeywords,
  type TaskClassification,
} from './classify-task';
export { DomainCatalog, type LoadedDomain } from './domain-catalog';
export {
  DomainError,
  type DomainErrorCode,
  type DomainErrorOptions,
  type DomainIssue,
  formatDomainIssue,
} from './domain-error';
export { type DomainEntry, domainEntrySchema, presetToEntry, presetToYaml } from './domain-file';
export {
  type DomainLimits,
  type DomainPreset,
  type DomainPresetInput,
  type DomainRole,
  domainLimitsSchema,
  domainPresetSchema,
  domainRoles,
  isDomainRole,
  modelPreferenceSchema,
} from './domain-preset';
export { type LoadDomainsOptions, loadDomains } from './load-domains';
export {
  type AgentConfig,
  type AgentModel,
  agentFromDomain,
  type DomainAgent,
  type DomainModels,
  type SpawnDomainOptions,
  spawnDomain,
} from './spawn-domain';
