import { type EnvBinding, loadSettings, type SettingOrigin, settingsFromText } from '@unity/config';
import type { z } from 'zod';
import { type UnityConfig, unityConfigSchema } from './config-schema';

export { defaultConfigPath } from '@unity/config';

/**
 * Schemas of further top-level sections (`agent:`, `server:`, `tools:` …) that other packages own and read from the
 * same file. They are validated with the router's own sections, so their errors name the file, line and field too.
 */
export type ConfigSections = Record<string, z.ZodType>;

/** The config with the given extra sections, parsed by their schemas. */
export type ConfigWith<S extends ConfigSections> = UnityConfig & { [K in keyof S]: z.output<S[K]> };

export interface LoadConfigOptions<S extends ConfigSections = Record<never, z.ZodType>> {
  /** Extra sections to validate along with the router's. */
  sections?: S;
  /** An explicit file (`--config`): it must exist. */
  path?: string;
  /** Where relative paths and `./configs/system.yaml` are resolved (default: process.cwd()). */
  cwd?: string;
  /**
   * The environment: `UNITY_CONFIG`, and the variables that stand in for settings the file leaves unset
   * (`routerEnvBindings`: `OLLAMA_HOST`, `UNITY_MODELS_DIR`). Default: none is read.
   */
  env?: Record<string, string | undefined>;
  /** Further settings of the extra sections that the environment gives (e.g. `toolsEnvBindings`). */
  envBindings?: readonly EnvBinding[];
}

export interface LoadedConfig<C extends UnityConfig = UnityConfig> {
  config: C;
  /** The file the config came from, or `built-in defaults`. */
  source: string;
  /** Where the value at a path came from: the environment, the file (with its line), or the defaults. */
  originOf(path: readonly string[]): SettingOrigin;
}

/** The built-in defaults: the seed's `configs/system.yaml` (MiniMax-M2 first, qwen2.5-coder:7b locally). */
export const defaultConfig: UnityConfig = Object.freeze(unityConfigSchema.parse({})) as UnityConfig;

/** The router's settings that the environment gives when the file leaves them unset. */
const routerEnvBindings: readonly EnvBinding[] = [
  {
    path: ['ollama', 'host'],
    env: 'OLLAMA_HOST',
    map: (host) => (/^[a-z]+:\/\//i.test(host) ? host : `http://${host}`),
  },
  { path: ['llamacpp', 'store_dir'], env: 'UNITY_MODELS_DIR' },
  { path: ['llamacpp', 'default_model'], env: 'UNITY_DEFAULT_MODEL' },
];

function schemaWith(sections: ConfigSections | undefined) {
  return sections ? unityConfigSchema.extend(sections) : unityConfigSchema;
}

/**
 * Find and read the config: `options.path`, else `env.UNITY_CONFIG`, else `./configs/system.yaml` when present, else
 * the built-in defaults (equal to the seed's). A file that is named but missing is an error; so is any invalid value,
 * reported with its file, line and field. The settings layer is `@unity/config`; this adds the router's sections.
 */
export async function loadConfig<S extends ConfigSections = Record<never, z.ZodType>>(
  options: LoadConfigOptions<S> = {},
): Promise<LoadedConfig<ConfigWith<S>>> {
  const loaded = await loadSettings({
    schema: schemaWith(options.sections),
    ...(options.path !== undefined ? { path: options.path } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    envBindings: [...routerEnvBindings, ...(options.envBindings ?? [])],
  });
  return loaded as unknown as LoadedConfig<ConfigWith<S>>;
}

/**
 * Parse and validate YAML text as a Unity config, with any extra `sections`. `file` names it in errors: every problem
 * is reported as `file:line: field: what is wrong`, with the fix. The environment is not read.
 */
export function parseConfig<S extends ConfigSections = Record<never, z.ZodType>>(
  text: string,
  file = 'config',
  sections?: S,
): ConfigWith<S> {
  return settingsFromText(text, file, { schema: schemaWith(sections) }).config as ConfigWith<S>;
}

/** The environment variable holding the cloud key: `cloud_llm.api_key_env`, else the provider's usual one. */
export function cloudApiKeyEnv(config: UnityConfig): string {
  return (
    config.cloud_llm.api_key_env ?? (config.cloud_llm.provider === 'openai' ? 'OPENAI_API_KEY' : 'MINIMAX_API_KEY')
  );
}

/**
 * Whether a cloud provider needs an API key: MiniMax and OpenAI itself do; `provider: openai` with a `base_url` names a
 * self-hosted OpenAI-compatible server (vLLM, LM Studio, llama.cpp server), which works without one.
 */
export function cloudNeedsKey(
  config: UnityConfig,
  provider: 'minimax' | 'openai' = config.cloud_llm.provider,
): boolean {
  const { cloud_llm } = config;
  return provider === 'minimax' || !(provider === cloud_llm.provider && cloud_llm.base_url);
}

export const defaultOllamaHost = 'http://127.0.0.1:11434';

/** `ollama.host`, else `OLLAMA_HOST` (a bare `host:port` gets `http://`), else http://127.0.0.1:11434. */
export function ollamaHost(config: UnityConfig, env: Record<string, string | undefined> = {}): string {
  const host = config.ollama.host ?? env.OLLAMA_HOST;
  if (!host) return defaultOllamaHost;
  return /^[a-z]+:\/\//i.test(host) ? host : `http://${host}`;
}
