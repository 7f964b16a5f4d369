export { ConfigError, type ConfigErrorCode } from './config-error';
export { describeOrigin, type ExplainedSetting, explainSettings } from './explain-settings';
export {
  builtInDefaults,
  defaultConfigPath,
  type EnvBinding,
  type LoadedSettings,
  type LoadSettingsOptions,
  loadSettings,
  type SettingOrigin,
  settingsFromText,
} from './load-settings';
export { type ParsedSettings, parseSettings, type SettingsSchema } from './parse-settings';
