import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** `~/.unity/models`: where the model store is unless the config or the environment says otherwise. */
export function defaultModelStoreDir(home: string = homedir()): string {
  return join(home, '.unity', 'models');
}

export interface ModelStoreDirOptions {
  /** The environment the caller read (only `UNITY_MODELS_DIR` is used). The function never reads process.env. */
  env?: Record<string, string | undefined>;
  /** The home folder for `~/…` and the default (default: the user's). */
  home?: string;
  /** Resolves a relative folder (default: process.cwd()). */
  cwd?: string;
}

/**
 * The model store folder, the one way every part of Unity finds it: `llamacpp.store_dir` from the config, else
 * `UNITY_MODELS_DIR` from the environment passed in, else `~/.unity/models`. Always an absolute path.
 */
export function modelStoreDir(
  config: { llamacpp: { store_dir?: string | undefined } },
  options: ModelStoreDirOptions = {},
): string {
  const home = options.home ?? homedir();
  const configured = config.llamacpp.store_dir || options.env?.UNITY_MODELS_DIR || undefined;
  if (configured === undefined) return defaultModelStoreDir(home);
  if (configured === '~') return home;
  if (configured.startsWith('~/')) return join(home, configured.slice(2));
  return isAbsolute(configured) ? resolve(configured) : resolve(options.cwd ?? process.cwd(), configured);
}
