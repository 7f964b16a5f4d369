import { isBareOllamaName } from '@unity/core';
import { ConfigError } from './errors';

/** The provider kinds a model string can name. */
export type ProviderKind = 'openai-compatible' | 'ollama' | 'llamacpp';

export interface ModelRef {
  /** The prefix as written (`ollama_chat`, `minimax`, …). */
  prefix: string;
  kind: ProviderKind;
  /** The model name as the provider knows it (`qwen2.5-coder:7b`, `MiniMax-M2`, a GGUF path). */
  model: string;
}

/**
 * LiteLLM-style prefixes, as the seed's config writes them. `minimax` and `openai` speak OpenAI Chat Completions
 * (to different default base URLs); `ollama_chat` and `ollama` speak Ollama's native API.
 */
export const modelPrefixes: Readonly<Record<string, ProviderKind>> = {
  minimax: 'openai-compatible',
  openai: 'openai-compatible',
  ollama_chat: 'ollama',
  ollama: 'ollama',
  llamacpp: 'llamacpp',
};

/**
 * Parse `ollama_chat/qwen2.5-coder:7b` into its provider and model. `where` names the config field for errors.
 * Only the first `/` separates: `openai/meta-llama/Llama-3-8B` keeps the model's own slashes. A bare Ollama name
 * (`qwen2.5-coder:7b`, as the seed's domain presets and `diagnostics.require_models` write it) means that model on
 * Ollama: `ollama_chat/qwen2.5-coder:7b`.
 */
export function parseModelString(value: string, where = 'model'): ModelRef {
  const slash = value.indexOf('/');
  const known = Object.keys(modelPrefixes).join(', ');
  if (slash === -1 && isBareOllamaName(value)) return { prefix: 'ollama_chat', kind: 'ollama', model: value };
  if (slash <= 0 || slash === value.length - 1) {
    throw new ConfigError({
      code: 'UNKNOWN_PROVIDER',
      message: `${where}: "${value}" has no provider prefix`,
      fix: `write it as <provider>/<model>, e.g. ollama_chat/qwen2.5-coder:7b (known providers: ${known})`,
    });
  }
  const prefix = value.slice(0, slash);
  const kind = modelPrefixes[prefix];
  if (!kind) {
    throw new ConfigError({
      code: 'UNKNOWN_PROVIDER',
      message: `${where}: unknown provider "${prefix}" in "${value}"`,
      fix: `use one of: ${known}`,
    });
  }
  return { prefix, kind, model: value.slice(slash + 1) };
}
