/** An Ollama model name as `ollama pull` takes it and the seed writes it: `qwen2.5-coder:7b`, `llama3.2`. */
const bareOllamaName = /^[a-z0-9][a-z0-9._-]*(:[a-z0-9._-]+)?$/i;

/** True for a bare Ollama model name (no provider prefix), which means that model on Ollama. */
export function isBareOllamaName(value: string): boolean {
  return bareOllamaName.test(value);
}
