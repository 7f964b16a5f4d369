import { ollamaHost } from './config';
import type { UnityConfig } from './config-schema';
import type { EmbeddingProvider } from './embedding-provider';
import { ProviderError } from './errors';
import { modelStoreDir } from './model-store/store-dir';
import { type ModelRef, parseModelString } from './model-string';
import { cloudUpstream, providerIdFor } from './provider-factory';
import { createOllamaEmbeddingProvider } from './providers/ollama-embeddings';
import { createOpenAIEmbeddingProvider } from './providers/openai-embeddings';

/** One model of the embedding chain, resolved to its provider or to why it cannot be used. */
export interface EmbeddingLink {
  /** The model string as configured (`ollama/nomic-embed-text`). */
  modelString: string;
  ref: ModelRef;
  providerId: string;
  provider?: EmbeddingProvider;
  /** Why it cannot be used at all (a missing key, an unsupported provider), as a skip with its fix. */
  unavailable?: ProviderError;
}

interface Options {
  config: UnityConfig;
  env: Record<string, string | undefined>;
  cwd?: string;
  providers?: Record<string, EmbeddingProvider>;
}

/**
 * Creates the embedding providers of model strings, once each and on first use: one client per OpenAI-compatible
 * base URL or Ollama host, one engine per GGUF file. Keys, base URLs and hosts are resolved as the chat providers'
 * (`cloud_llm.base_url` and `cloud_llm.api_key_env` for the cloud provider's prefix, `ollama.host`, the model store).
 */
export class EmbeddingProviders {
  private readonly created = new Map<string, Promise<EmbeddingProvider>>();

  constructor(private readonly options: Options) {}

  async link(modelString: string, where: string): Promise<EmbeddingLink> {
    const ref = parseModelString(modelString, where);
    const providerId = providerIdFor(ref);
    const base = { modelString, ref, providerId };
    const injected = this.options.providers?.[providerId];
    if (injected) return { ...base, provider: injected };
    const unavailable = this.unavailable(ref, providerId);
    if (unavailable) return { ...base, unavailable };
    const key = ref.kind === 'llamacpp' ? `${providerId}:${ref.model}` : providerId;
    let provider = this.created.get(key);
    if (!provider) {
      provider = this.create(ref, providerId);
      this.created.set(key, provider);
      provider.catch(() => this.created.delete(key));
    }
    try {
      return { ...base, provider: await provider };
    } catch (error) {
      const cause = ProviderError.isInstance(error)
        ? error
        : new ProviderError({
            code: 'NOT_INSTALLED',
            message: `cannot create the ${providerId} embedding provider: ${String(error)}`,
            provider: providerId,
            model: ref.model,
            cause: error,
          });
      return { ...base, unavailable: cause };
    }
  }

  async close(): Promise<void> {
    const providers = await Promise.allSettled(this.created.values());
    this.created.clear();
    await Promise.allSettled(providers.map((p) => (p.status === 'fulfilled' ? p.value.close?.() : undefined)));
  }

  /** MiniMax is refused before this (no embeddings API): only `openai/…` reaches here. */
  private cloudSettings() {
    const { baseUrl, key, needsKey } = cloudUpstream(this.options.config, this.options.env, 'openai');
    return { baseURL: baseUrl, keyName: key.name, key: key.value, needsKey };
  }

  private unavailable(ref: ModelRef, providerId: string): ProviderError | undefined {
    if (ref.prefix === 'minimax') {
      return new ProviderError({
        code: 'UNSUPPORTED',
        message: `${ref.prefix}/${ref.model}: MiniMax has no OpenAI-compatible embeddings API`,
        fix: 'use openai/<model>, ollama/<model> or llamacpp/<model> for embeddings',
        provider: providerId,
        model: ref.model,
      });
    }
    if (ref.kind !== 'openai-compatible') return undefined;
    const cloud = this.cloudSettings();
    if (cloud.key || !cloud.needsKey) return undefined;
    return new ProviderError({
      code: 'AUTH_FAILED',
      message: `${cloud.keyName} is not set, so ${providerId} cannot embed with ${ref.model}`,
      fix: `export ${cloud.keyName}=<your key>, or drop ${ref.prefix}/${ref.model} from models.embedding`,
      provider: providerId,
      model: ref.model,
    });
  }

  private async create(ref: ModelRef, providerId: string): Promise<EmbeddingProvider> {
    const { config, env } = this.options;
    switch (ref.kind) {
      case 'openai-compatible': {
        const cloud = this.cloudSettings();
        return createOpenAIEmbeddingProvider({
          id: providerId,
          baseURL: cloud.baseURL,
          apiKeyVariable: cloud.keyName,
          ...(cloud.key ? { apiKey: cloud.key } : {}),
        });
      }
      case 'ollama':
        return createOllamaEmbeddingProvider({
          id: providerId,
          host: ollamaHost(config, env),
          headersTimeoutMs: config.router.local_timeout_seconds * 1000,
          ...(config.ollama.keep_alive !== undefined ? { keepAlive: config.ollama.keep_alive } : {}),
        });
      case 'llamacpp': {
        // Loaded on first use only, like the chat engine: node-llama-cpp stays out otherwise.
        const [{ createLlamaCppEmbeddingProvider }, { resolveStoreModel }] = await Promise.all([
          import('./providers/llamacpp-embeddings'),
          import('./model-store/store'),
        ]);
        const { threads, context_size } = config.llamacpp;
        const storeDir = modelStoreDir(config, { env, ...(this.options.cwd ? { cwd: this.options.cwd } : {}) });
        return createLlamaCppEmbeddingProvider({
          id: providerId,
          modelPath: resolveStoreModel(ref.model, storeDir),
          ...(threads ? { threads } : {}),
          ...(context_size ? { contextSize: context_size } : {}),
        });
      }
    }
  }
}
