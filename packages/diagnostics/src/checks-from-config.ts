import type { ChatModel } from '@unity/core';
import {
  cloudApiKeyEnv,
  cloudNeedsKey,
  createRouter,
  ollamaHost,
  parseModelString,
  type Router,
  type UnityConfig,
} from '@unity/llm-router';
import { defaultBaseUrls, lastResortEnabled, type Provider } from '@unity/llm-router/internal';
import { modelStoreDir } from '@unity/llm-router/model-store';
import type { Check } from './check';
import { cloudEndpointCheck, cloudKeyCheck } from './cloud-checks';
import { firstTokenLatencyCheck, toolCallCheck } from './deep-checks';
import { type MemoryReading, memoryCheck } from './memory-check';
import { withTag } from './ollama-api';
import { modelCapabilitiesCheck, modelPulledCheck, modelPulledId, ollamaReachableCheck } from './ollama-checks';
import { singleModelConfig } from './single-model-config';
import { storeModelsCheck } from './store-check';

export interface ConfigChecksOptions {
  /** The environment the app passes: the cloud key variable and OLLAMA_HOST are read from it. */
  env: Record<string, string | undefined>;
  /** The file the config came from, named in fixes (`set cloud_llm.enabled: true in configs/system.yaml`). */
  configFile?: string;
  /** Add the checks that cost model calls: first-token latency and a tool-call round trip per configured model. */
  deep?: boolean;
  /** Whether the setup uses tools (the agent loop does): local models must then support them. Default true. */
  usesTools?: boolean;
  /** For the fix that starts Ollama (`darwin` adds `brew services start ollama`). Default: this platform. */
  platform?: string;
  readMemory?: () => MemoryReading;
  /** Per Ollama request (default 3000 ms). */
  ollamaTimeoutMs?: number;
  /** For `GET {base}/models` (default 5000 ms). */
  cloudTimeoutMs?: number;
  /** Per deep check (default 120 000 ms). */
  deepTimeoutMs?: number;
  /** First-token latency above this warns (default 5000 ms). */
  slowFirstTokenMs?: number;
  /** Context windows below this warn (default 8192 tokens). */
  minContextLength?: number;
  /** Providers for the deep checks instead of creating them, keyed by provider id (passed to the router). */
  providers?: Record<string, Provider>;
}

/** The checks for a config, and `close()` for what the deep checks opened. */
export interface CheckPlan {
  checks: Check[];
  close(): Promise<void>;
}

/**
 * The checks a config calls for, mapped from its sections:
 * - Ollama (`ollama.host`, else `OLLAMA_HOST`): reachable; each `diagnostics.require_models` entry and each local
 *   model under `models:` pulled and capable (tools when used, context length); memory for the largest. Required
 *   models are required checks; other local models only warn;
 * - the cloud (`cloud_llm`, unless disabled or `privacy.local_only`): the key variable (`api_key_env`, else
 *   MINIMAX_API_KEY / OPENAI_API_KEY) and `GET {base_url}/models`; they fail only when `fallback_to_local` is off;
 * - with `deep`: for each configured model (the cloud's and those under `models:`) a tool-call round trip, and for
 *   local ones the first-token latency, each through a router limited to that one model (`singleModelConfig`: no
 *   fallback, retry, breaker or cache).
 * - the model store of the embedded engine (`llamacpp.store_dir`, else `UNITY_MODELS_DIR`, else `~/.unity/models`):
 *   a GGUF model there is the last resort of `unity ask` (never required);
 * Provider ids match the router's: `ollama` for Ollama, `cloud_llm.provider` (`minimax`, `openai`) for the cloud.
 */
export function checksFromConfig(config: UnityConfig, options: ConfigChecksOptions): CheckPlan {
  const checks: Check[] = [];
  const host = ollamaHost(config, options.env);
  const ollamaTimeout = options.ollamaTimeoutMs === undefined ? {} : { timeoutMs: options.ollamaTimeoutMs };
  const cloudOn = config.cloud_llm.enabled && !config.privacy.local_only;

  // `require_models` holds Ollama names as the seed writes them; an `ollama_chat/` or `ollama/` prefix is tolerated.
  const required = config.diagnostics.require_models.map((m) => m.replace(/^ollama(_chat)?\//, ''));
  const roleModels = [...new Set([config.models.reasoning, config.models.coding, config.models.fallback])].map(
    (string) => ({ string, ref: parseModelString(string, 'models') }),
  );
  const inUse = roleModels.filter(({ ref }) => ref.kind === 'ollama');
  // One entry per Ollama model: `mistral` and `mistral:latest` are the same model.
  const byTag = new Map<string, string>();
  for (const model of [...required, ...inUse.map(({ ref }) => ref.model)]) {
    if (!byTag.has(withTag(model))) byTag.set(withTag(model), model);
  }
  const localModels = [...byTag.values()];
  const requiredTags = new Set(required.map(withTag));

  if (localModels.length > 0) {
    checks.push(
      ollamaReachableCheck({
        host,
        required: required.length > 0 || !cloudOn || !config.cloud_llm.fallback_to_local,
        ...ollamaTimeout,
        ...(options.platform ? { platform: options.platform } : {}),
      }),
    );
    for (const model of localModels) {
      const isRequired = requiredTags.has(withTag(model));
      checks.push(modelPulledCheck({ host, model, required: isRequired, ...ollamaTimeout }));
      checks.push(
        modelCapabilitiesCheck({
          host,
          model,
          required: isRequired,
          needsTools: options.usesTools ?? true,
          ...ollamaTimeout,
          ...(options.minContextLength === undefined ? {} : { minContextLength: options.minContextLength }),
        }),
      );
    }
    checks.push(
      memoryCheck({
        host,
        models: localModels,
        ...ollamaTimeout,
        ...(options.readMemory ? { readMemory: options.readMemory } : {}),
        ...(options.configFile ? { configFile: options.configFile } : {}),
      }),
    );
  }

  if (cloudOn) {
    const { provider, base_url, fallback_to_local } = config.cloud_llm;
    const keyVariable = cloudApiKeyEnv(config);
    const cloud = {
      provider,
      keyVariable,
      key: options.env[keyVariable],
      fallbackToLocal: fallback_to_local,
      keyRequired: cloudNeedsKey(config),
    };
    checks.push(cloudKeyCheck(cloud));
    checks.push(
      cloudEndpointCheck({
        ...cloud,
        baseURL: base_url ?? defaultBaseUrls[provider],
        ...(options.cloudTimeoutMs === undefined ? {} : { timeoutMs: options.cloudTimeoutMs }),
      }),
    );
  }

  checks.push(
    storeModelsCheck({
      dir: modelStoreDir(config, { env: options.env }),
      lastResort: lastResortEnabled(config),
    }),
  );

  let router: Router | undefined;
  if (options.deep) {
    const single = singleModelRouter(config, options);
    const modelFor = (modelString: string): ChatModel => ({
      chat: (request) => {
        router ??= single();
        return router.chat({ ...request, model: modelString });
      },
    });
    const timeout = options.deepTimeoutMs === undefined ? {} : { timeoutMs: options.deepTimeoutMs };
    const cloudLabel = `${config.cloud_llm.provider}/${config.cloud_llm.model}`;
    const configured = [
      ...(cloudOn ? [{ string: cloudLabel, ref: parseModelString(cloudLabel, 'cloud_llm') }] : []),
      ...roleModels.filter((m) => m.string !== cloudLabel),
    ];
    for (const { string: label, ref } of configured) {
      const model = modelFor(label);
      const dependsOn =
        ref.kind === 'ollama'
          ? [modelPulledId(ref.model)]
          : cloudOn && ref.prefix === config.cloud_llm.provider
            ? ['cloud-endpoint']
            : [];
      if (ref.kind !== 'openai-compatible') {
        checks.push(
          firstTokenLatencyCheck({
            label,
            model,
            dependsOn,
            cloudEnabled: cloudOn,
            ...timeout,
            ...(options.configFile ? { configFile: options.configFile } : {}),
            ...(options.slowFirstTokenMs === undefined ? {} : { thresholdMs: options.slowFirstTokenMs }),
          }),
        );
      }
      checks.push(toolCallCheck({ label, model, dependsOn, ...timeout }));
    }
  }

  return {
    checks,
    close: async () => {
      await router?.close();
    },
  };
}

/** A router that sends `request.model` to that model only: no fallback, no retry, no breaker, no cache, no audit. */
function singleModelRouter(config: UnityConfig, options: ConfigChecksOptions): () => Router {
  const isolated = singleModelConfig(config);
  return () =>
    createRouter({
      config: isolated,
      env: options.env,
      ...(options.providers ? { providers: options.providers } : {}),
    });
}
