import { ConfigError, loadConfig } from '@unity/llm-router';
import { type CheckPlan, type ConfigChecksOptions, checksFromConfig } from './checks-from-config';
import { configCheck } from './config-check';
import { nodeVersionCheck } from './node-version-check';
import { sandboxCheck } from './sandbox-check';

/** `tools.sandbox` of a loaded config (the tools package owns and validates the section). */
function sandboxMode(config: object): 'bwrap' | 'none' {
  return (config as { tools?: { sandbox?: unknown } }).tools?.sandbox === 'none' ? 'none' : 'bwrap';
}

export interface DoctorOptions extends Omit<ConfigChecksOptions, 'configFile'> {
  /** An explicit config file (`--config`); else `UNITY_CONFIG` from `env`, else `./configs/system.yaml`, else defaults. */
  configPath?: string;
  /** Where `./configs/system.yaml` is looked for (default: process.cwd()). */
  cwd?: string;
}

/**
 * Everything `unity doctor` checks: the config (a `ConfigError`'s file, line and field become a failed check instead
 * of an exception), the Node.js version, the OS sandbox of commands, and the checks the config calls for
 * (`checksFromConfig`).
 */
export async function planDoctor(options: DoctorOptions): Promise<CheckPlan> {
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig({
      ...(options.configPath === undefined ? {} : { path: options.configPath }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: options.env,
    });
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    return { checks: [configCheck({ error }), nodeVersionCheck()], close: async () => {} };
  }
  const fromFile = loaded.source !== 'built-in defaults';
  const plan = checksFromConfig(loaded.config, { ...options, ...(fromFile ? { configFile: loaded.source } : {}) });
  const source = fromFile ? loaded.source : 'no config file: the built-in defaults (the seed’s configs/system.yaml)';
  const sandbox = sandboxCheck({ mode: sandboxMode(loaded.config) });
  return { ...plan, checks: [configCheck({ source }), nodeVersionCheck(), sandbox, ...plan.checks] };
}
