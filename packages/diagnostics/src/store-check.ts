import { listModels } from '@unity/llm-router/model-store';
import type { Check } from './check';
import { formatBytes } from './ollama-checks';

export interface StoreCheckOptions {
  /** The model store folder (`llamacpp.store_dir`, else `UNITY_MODELS_DIR`, else `~/.unity/models`). */
  dir: string;
  /**
   * Whether the router answers with the store's model when the whole chain failed (`router.last_resort: store` and
   * `cloud_llm.fallback_to_local` not false; default true). Only changes what the message says.
   */
  lastResort?: boolean;
}

/**
 * The router's last resort: a GGUF model in the store, which the router runs in-process through the embedded engine
 * when nothing configured can answer. Never required, never a warning; without one, the fix says how to add one.
 */
export function storeModelsCheck(options: StoreCheckOptions): Check {
  return {
    id: 'store-models',
    title: 'Embedded models (model store)',
    required: false,
    async run() {
      const models = (await listModels(options.dir)).filter((m) => m.error === undefined);
      const lastResort = options.lastResort !== false;
      if (models.length === 0) {
        // Optional: a setup with a working cloud or Ollama needs none, so an empty store is no warning.
        return {
          status: 'ok',
          message: `none in ${options.dir} (optional: ${lastResort ? 'the last resort when neither the cloud nor Ollama answers' : 'run by llamacpp/<name>; the last resort is off'})`,
          fix: 'unity models pull hf:<owner>/<repo>/<file>.gguf  (or a local .gguf path)',
        };
      }
      const listed = models
        .map((m) => `${m.name} (${[m.gguf?.architecture, formatBytes(m.bytes)].filter(Boolean).join(', ')})`)
        .join(', ');
      return {
        status: 'ok',
        message: lastResort
          ? `${listed} in ${options.dir}: run in-process when nothing configured answers`
          : `${listed} in ${options.dir}: not used as the last resort (router.last_resort: none or cloud_llm.fallback_to_local: false); llamacpp/<name> runs one`,
      };
    },
  };
}
