import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from './config-error';
import { parseSettings, type SettingsSchema } from './parse-settings';

/**
 * A setting the environment may give when the file leaves it unset: `OLLAMA_HOST` → `ollama.host`. Each library
 * declares its own with its section; the settings layer reads the environment once, here, and nowhere else.
 */
export interface EnvBinding {
  /** The setting's path, e.g. `['ollama', 'host']`. */
  path: readonly string[];
  /** The variable, e.g. `OLLAMA_HOST`. */
  env: string;
  /** Turn the variable's text into the setting's value (e.g. add `http://` to a bare `host:port`). */
  map?: (value: string) => unknown;
}

/** Where a value came from. */
export type SettingOrigin =
  | { kind: 'default' }
  | { kind: 'file'; file: string; line: number | undefined }
  | { kind: 'env'; name: string };

export interface LoadSettingsOptions<S extends SettingsSchema> {
  /** The whole file's schema: every section each library registers (see `composeSettings`). */
  schema: S;
  /** An explicit file (`--config`): it must exist. */
  path?: string;
  /** Where relative paths and `./configs/system.yaml` are resolved (default: process.cwd()). */
  cwd?: string;
  /** The environment: `UNITY_CONFIG` and the bound variables are read from it (default: none is read). */
  env?: Record<string, string | undefined>;
  /** Settings the environment gives when the file leaves them unset. */
  envBindings?: readonly EnvBinding[];
}

export interface LoadedSettings<T> {
  config: T;
  /** The file the settings came from, or `built-in defaults`. */
  source: string;
  /** Where the value at a path came from: the environment, the file (with its line), or the defaults. */
  originOf(path: readonly string[]): SettingOrigin;
}

export const defaultConfigPath = join('configs', 'system.yaml');

export const builtInDefaults = 'built-in defaults';

/**
 * Find, read and validate the settings: `options.path` (`--config`), else `env.UNITY_CONFIG`, else
 * `./configs/system.yaml` when present, else the built-in defaults. A file that is named but missing is an error;
 * so is any invalid value, reported with its file, line and field.
 */
export async function loadSettings<S extends SettingsSchema>(
  options: LoadSettingsOptions<S>,
): Promise<LoadedSettings<z.output<S>>> {
  const { file, text } = await readSettingsFile(options);
  return settingsFromText(text ?? '', file, options);
}

/** Validate settings from text (`file` names it in errors), with the environment applied as in `loadSettings`. */
export function settingsFromText<S extends SettingsSchema>(
  text: string,
  file: string,
  options: Pick<LoadSettingsOptions<S>, 'schema' | 'env' | 'envBindings'>,
): LoadedSettings<z.output<S>> {
  const fromEnv = new Map<string, string>();
  const overlay = (raw: Record<string, unknown>) => {
    for (const binding of options.envBindings ?? []) {
      const value = options.env?.[binding.env];
      if (value === undefined || value === '' || valueAt(raw, binding.path) !== undefined) continue;
      setAt(raw, binding.path, binding.map ? binding.map(value) : value);
      fromEnv.set(binding.path.join('.'), binding.env);
    }
    return raw;
  };
  const parsed = parseSettings(text, file, options.schema, overlay, (path) => fromEnv.get(path.join('.')));
  return {
    config: parsed.value,
    source: file,
    originOf(path) {
      for (let depth = path.length; depth > 0; depth--) {
        const name = fromEnv.get(path.slice(0, depth).join('.'));
        if (name) return { kind: 'env', name };
      }
      if (file !== builtInDefaults && valueAt(parsed.raw, path) !== undefined) {
        return { kind: 'file', file, line: parsed.lineAt(path) };
      }
      return { kind: 'default' };
    },
  };
}

async function readSettingsFile(
  options: Pick<LoadSettingsOptions<SettingsSchema>, 'path' | 'cwd' | 'env'>,
): Promise<{ file: string; text: string | undefined }> {
  const cwd = options.cwd ?? process.cwd();
  const named = options.path ?? options.env?.UNITY_CONFIG;
  if (named !== undefined && named !== '') {
    const via = options.path !== undefined ? '--config' : 'UNITY_CONFIG';
    const text = await readFile(isAbsolute(named) ? named : resolve(cwd, named), 'utf8').catch(
      (error: NodeJS.ErrnoException) => {
        throw new ConfigError({
          code: 'CONFIG_NOT_FOUND',
          message: `config file ${named} (from ${via}) cannot be read: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
          fix: `create it, or point ${via} at an existing file (the seed's layout is configs/system.yaml)`,
          cause: error,
        });
      },
    );
    return { file: named, text };
  }
  const text = await readFile(join(cwd, defaultConfigPath), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new ConfigError({
      code: 'CONFIG_NOT_FOUND',
      message: `config file ${defaultConfigPath} cannot be read: ${error.message}`,
      fix: 'fix its permissions, or pass --config FILE',
      cause: error,
    });
  });
  return text === undefined ? { file: builtInDefaults, text } : { file: defaultConfigPath, text };
}

function valueAt(raw: unknown, path: readonly string[]): unknown {
  let current = raw;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function setAt(raw: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let current = raw;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[key] = {};
    current = current[key] as Record<string, unknown>;
  }
  current[path.at(-1) as string] = value;
}
