export { builtinDomains, type DomainPreset, type DomainPresetInput, domainPresetSchema } from './domain-preset';
