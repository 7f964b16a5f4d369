import { listModels } from '@unity/llm-router';
import type { Check } from './check';
import { formatBytes } from './ollama-checks';

export interface StoreCheckOptions {
  /** The model store folder (`llamacpp.store_dir`, else `UNITY_MODELS_DIR`, else `~/.unity/models`). */
  dir: string;
}

/**
 * The embedded engine's last resort: a GGUF model in the store, which `unity ask` runs in-process when nothing
 * configured can answer. Never required, never a warning; without one, the fix says how to add one.
 */
export function storeModelsCheck(options: StoreCheckOptions): Check {
  return {
    id: 'store-models',
    title: 'Embedded models (model store)',
    required: false,
    async run() {
      const models = (await listModels(options.dir)).filter((m) => m.error === undefined);
      if (models.length === 0) {
        // Optional: a setup with a working cloud or Ollama needs none, so an empty store is no warning.
        return {
          status: 'ok',
          message: `none in ${options.dir} (optional: the last resort when neither the cloud nor Ollama answers)`,
          fix: 'unity models pull hf:<owner>/<repo>/<file>.gguf  (or a local .gguf path)',
        };
      }
      const listed = models
        .map((m) => `${m.name} (${[m.gguf?.architecture, formatBytes(m.bytes)].filter(Boolean).join(', ')})`)
        .join(', ');
      return {
        status: 'ok',
        message: `${listed} in ${options.dir}: run in-process when nothing configured answers`,
      };
    },
  };
}
