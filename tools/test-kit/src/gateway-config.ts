export interface GatewayConfigOptions {
  /** The fake cloud's base URL (`FakeOpenAI.baseURL`), possibly rewritten (to add credentials). */
  cloudBaseUrl: string;
  /** The fake Ollama's address (`FakeOllama.host`). */
  ollamaHost: string;
  /** `models.embedding`: the embedding chain (default: the config's default). */
  embeddingModels?: readonly string[];
  /** Further `router:` lines, indented by two spaces. */
  routerLines?: readonly string[];
  /** The `server:` section (default: the health monitor off, so that tests control every request). */
  server?: Record<string, string | number>;
}

/**
 * A Unity config (YAML) for a gateway over the fakes: the cloud as an OpenAI-compatible provider keyed by
 * `TEST_CLOUD_KEY`, every role on Ollama's qwen2.5-coder:7b, no retries — the setup the gateway's tests and the attack
 * suite start from.
 */
export function gatewayConfigYaml(options: GatewayConfigOptions): string {
  return [
    'cloud_llm:',
    '  provider: openai',
    '  model: MiniMax-M2',
    `  base_url: ${options.cloudBaseUrl}`,
    '  api_key_env: TEST_CLOUD_KEY',
    'models:',
    '  reasoning: ollama_chat/qwen2.5-coder:7b',
    '  coding: ollama_chat/qwen2.5-coder:7b',
    '  fallback: ollama_chat/qwen2.5-coder:7b',
    ...(options.embeddingModels ? [`  embedding: [${options.embeddingModels.join(', ')}]`] : []),
    'ollama:',
    `  host: ${options.ollamaHost}`,
    'router:',
    '  retries:',
    '    max_retries: 0',
    ...(options.routerLines ?? []),
    'server:',
    ...Object.entries({ health_interval_seconds: 0, ...options.server }).map(([k, v]) => `  ${k}: ${v}`),
    '',
  ].join('\n');
}
