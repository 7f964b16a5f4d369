/**
 * The seed's `configs/system.yaml` as it is written (comments, quotes and all), for tests that must prove the seed's
 * own file means what the seed says. `extra` lines are appended as they are (e.g. `ollama:` pointing at a fake);
 * `cloudBaseUrl` adds `cloud_llm.base_url` so the cloud model is a fake.
 */
export function seedSystemYaml(options: { cloudBaseUrl?: string; extra?: string } = {}): string {
  return `# Cloud LLM (Primary)
cloud_llm:
  enabled: true
  provider: "minimax"
  model: "MiniMax-M2"
  fallback_to_local: true  # falls back to qwen2.5
  timeout_seconds: 3600
  max_tokens: 4096
  max_iterations: 1000
${options.cloudBaseUrl ? `  base_url: ${options.cloudBaseUrl}\n` : ''}
# Local LLM Models (Fallback)
models:
  reasoning: "ollama_chat/qwen2.5-coder:7b"
  coding: "ollama_chat/qwen2.5-coder:7b"
  fallback: "ollama_chat/qwen2.5-coder:7b"

# Diagnostics - Model Requirements
diagnostics:
  require_models:
    - "qwen2.5-coder:7b"
${options.extra ?? ''}`;
}
