import { redactUrl, urlSecrets } from '@unity/core';
import { cloudApiKeyEnv, cloudNeedsKey, ollamaHost } from './config';
import type { CloudProvider, UnityConfig } from './config-schema';
import type { Deployment } from './deployments';
import { ProviderError } from './errors';
import { modelStoreDir } from './model-store/store-dir';
import { type ModelRef, parseModelString } from './model-string';
import type { Provider } from './provider';
import { createOllamaProvider } from './providers/ollama';
import { createOpenAICompatibleProvider } from './providers/openai-compatible';

export const defaultBaseUrls: Readonly<Record<CloudProvider, string>> = {
  minimax: 'https://api.minimax.io/v1',
  openai: 'https://api.openai.com/v1',
};

/** One model of the chain, resolved to the provider that serves it. */
export interface ResolvedModel {
  /** The model string as configured (`ollama_chat/qwen2.5-coder:7b`). */
  modelString: string;
  ref: ModelRef;
  /** Provider id: `minimax`, `openai`, `ollama`, `llamacpp`, or an injected provider's key. */
  providerId: string;
  /** True for `cloud_llm`'s model: always treated as remote, bounded by `cloud_llm.timeout_seconds`. */
  cloud: boolean;
  /** Why it cannot be used at all (a missing key, an engine not installed), as a skip with its fix. */
  unavailable?: ProviderError;
  /** Set when it is one of several deployments of its model string (`deployments:`). */
  deployment?: Deployment;
}

/** Where an OpenAI-compatible provider sends requests, with which key, and whether it must have one. */
interface Upstream {
  baseUrl: string;
  key: { name: string; value: string | undefined };
  needsKey: boolean;
  /** Unset for a self-hosted server (vLLM, LM Studio): see `createOpenAICompatibleProvider`. */
  flavor?: CloudProvider;
}

/**
 * The upstream of an OpenAI-compatible model string's prefix: a deployment's own base URL and key variable, else
 * `cloud_llm`'s for its provider, else the provider's defaults (`<PREFIX>_API_KEY`). A self-hosted `openai` server (a
 * `base_url` of the user's) needs no key; MiniMax and api.openai.com do.
 */
export function cloudUpstream(
  config: UnityConfig,
  env: Record<string, string | undefined>,
  prefix: CloudProvider,
  deployment?: Deployment,
): Upstream {
  const isCloud = prefix === config.cloud_llm.provider;
  const usualKey = isCloud ? cloudApiKeyEnv(config) : `${prefix.toUpperCase()}_API_KEY`;
  const keyName = deployment ? (deployment.api_key_env ?? usualKey) : usualKey;
  const baseUrl = deployment
    ? (deployment.base_url ?? defaultBaseUrls[prefix])
    : ((isCloud ? config.cloud_llm.base_url : undefined) ?? defaultBaseUrls[prefix]);
  const selfHosted =
    prefix === 'openai' && (deployment ? deployment.base_url !== undefined : !cloudNeedsKey(config, prefix));
  return {
    baseUrl,
    key: { name: keyName, value: env[keyName] || undefined },
    needsKey: !selfHosted,
    ...(selfHosted ? {} : { flavor: prefix }),
  };
}

interface ProviderFactoryOptions {
  config: UnityConfig;
  env: Record<string, string | undefined>;
  /** Providers to use instead of creating them, keyed by provider id (`minimax`, `ollama`, …). */
  providers?: Record<string, Provider>;
  /** Resolves a relative `llamacpp.store_dir` (default: process.cwd()). */
  cwd?: string;
}

/** The provider id a model prefix maps to: `ollama_chat` and `ollama` share one Ollama host. */
export function providerIdFor(ref: ModelRef): string {
  return ref.kind === 'ollama' ? 'ollama' : ref.prefix;
}

/**
 * Turns model strings into providers, creating each provider once (lazily: nothing is created or contacted until a
 * request needs it). Settings come from the config and the environment passed in; nothing reads process.env.
 */
export class ProviderFactory {
  private readonly created = new Map<string, Promise<Provider>>();
  private readonly injected: Record<string, Provider>;
  private readonly deployments: ReadonlyMap<string, Deployment>;

  constructor(private readonly options: ProviderFactoryOptions) {
    this.injected = options.providers ?? {};
    this.deployments = new Map(options.config.deployments.map((d) => [d.id, d]));
  }

  /** The model store folder: where `llamacpp/<name>` finds `<name>.gguf`, and where the last resort is looked for. */
  get storeDir(): string {
    const { config, env, cwd } = this.options;
    return modelStoreDir(config, { env, ...(cwd ? { cwd } : {}) });
  }

  /** The cloud model string (`minimax/MiniMax-M2`). */
  get cloudModel(): string {
    const { provider, model } = this.options.config.cloud_llm;
    return `${provider}/${model}`;
  }

  /**
   * The secrets in use, so that errors, events and the audit trail can redact them: the API keys, and the passwords
   * (or tokens) written into `cloud_llm.base_url` and the Ollama host.
   */
  get secrets(): string[] {
    const { config, env } = this.options;
    const names = new Set([cloudApiKeyEnv(config), 'MINIMAX_API_KEY', 'OPENAI_API_KEY']);
    for (const d of config.deployments) if (d.api_key_env) names.add(d.api_key_env);
    const keys = [...names].map((name) => env[name]).filter((v): v is string => !!v);
    return [
      ...keys,
      ...urlSecrets(config.cloud_llm.base_url),
      ...urlSecrets(ollamaHost(config, env)),
      ...urlSecrets(config.router.cache.redis_url),
      ...config.deployments.flatMap((d) => urlSecrets(d.base_url)),
    ];
  }

  /** The deployments of a model string, as written, each resolved to its own provider (none: not deployed). */
  deploymentsOf(modelString: string): ResolvedModel[] {
    return this.options.config.deployments
      .filter((d) => d.model === modelString)
      .map((deployment) => {
        const ref = parseModelString(deployment.use ?? deployment.model, `deployments[${deployment.id}].use`);
        const cloud = modelString === this.cloudModel && this.options.config.cloud_llm.enabled;
        const resolved: ResolvedModel = { modelString, ref, providerId: deployment.id, cloud, deployment };
        if (this.injected[deployment.id]) return resolved;
        const unavailable = this.unavailable(ref, deployment.id);
        return unavailable ? { ...resolved, unavailable } : resolved;
      });
  }

  resolve(modelString: string, where = 'model'): ResolvedModel {
    const ref = parseModelString(modelString, where);
    const providerId = providerIdFor(ref);
    const cloud = modelString === this.cloudModel && this.options.config.cloud_llm.enabled;
    const resolved: ResolvedModel = { modelString, ref, providerId, cloud };
    if (this.injected[providerId]) return resolved;
    const unavailable = this.unavailable(ref, providerId);
    return unavailable ? { ...resolved, unavailable } : resolved;
  }

  /** The provider for a resolved model, created on first use. */
  provider(model: ResolvedModel): Promise<Provider> {
    const injected = this.injected[model.providerId];
    if (injected) return Promise.resolve(injected);
    // One embedded engine per GGUF file; one client per remote or Ollama host.
    const key = model.ref.kind === 'llamacpp' ? `${model.providerId}:${model.ref.model}` : model.providerId;
    let provider = this.created.get(key);
    if (!provider) {
      provider = this.create(model);
      this.created.set(key, provider);
      provider.catch(() => this.created.delete(key));
    }
    return provider;
  }

  /** Close the providers this factory created (injected ones belong to the caller). */
  async close(): Promise<void> {
    const providers = await Promise.allSettled(this.created.values());
    this.created.clear();
    await Promise.allSettled(
      providers.map((p) => (p.status === 'fulfilled' ? p.value.close?.() : undefined)).filter(Boolean),
    );
  }

  private upstream(prefix: CloudProvider, deployment: Deployment | undefined): Upstream {
    return cloudUpstream(this.options.config, this.options.env, prefix, deployment);
  }

  private unavailable(ref: ModelRef, providerId: string): ProviderError | undefined {
    if (ref.kind !== 'openai-compatible') return undefined;
    const prefix = ref.prefix as CloudProvider;
    const { key, needsKey, baseUrl } = this.upstream(prefix, this.deployments.get(providerId));
    if (key.value || !needsKey) return undefined;
    return new ProviderError({
      code: 'AUTH_FAILED',
      message: `${key.name} is not set, so ${providerId} (${redactUrl(baseUrl)}) cannot be used`,
      fix: `export ${key.name}=<your key>${this.cloudModel.startsWith(`${prefix}/`) ? ', or set cloud_llm.enabled: false to go local only' : ''}`,
      provider: providerId,
      model: ref.model,
    });
  }

  private async create(model: ResolvedModel): Promise<Provider> {
    const { config, env } = this.options;
    const id = model.providerId;
    switch (model.ref.kind) {
      case 'openai-compatible': {
        const { baseUrl, key, flavor } = this.upstream(model.ref.prefix as CloudProvider, model.deployment);
        return createOpenAICompatibleProvider({
          id,
          baseURL: baseUrl,
          apiKeyVariable: key.name,
          ...(key.value ? { apiKey: key.value } : {}),
          ...(flavor ? { flavor } : {}),
        });
      }
      case 'ollama':
        return createOllamaProvider({
          id,
          host: model.deployment?.base_url ?? ollamaHost(config, env),
          headersTimeoutMs: config.router.local_timeout_seconds * 1000,
          maxContext: config.ollama.max_context,
          ...(config.ollama.keep_alive !== undefined ? { keepAlive: config.ollama.keep_alive } : {}),
        });
      case 'llamacpp':
        return this.createLlamaCpp(id, model.ref.model);
    }
  }

  /** Loaded on first use only: the engine's module (and node-llama-cpp, which it imports lazily) stays out otherwise. */
  private async createLlamaCpp(id: string, model: string): Promise<Provider> {
    const [{ createLlamaCppProvider }, { resolveStoreModel }] = await Promise.all([
      import('./providers/llamacpp'),
      import('./model-store/store'),
    ]);
    const { threads, context_size, sequences } = this.options.config.llamacpp;
    return createLlamaCppProvider({
      id,
      modelPath: resolveStoreModel(model, this.storeDir),
      ...(threads ? { threads } : {}),
      ...(context_size ? { contextSize: context_size } : {}),
      ...(sequences ? { sequences } : {}),
    });
  }
}
