import { createRouter, loadConfig, parseModelString, type UnityConfig } from '@unity/llm-router';
import { EventBus } from './event-bus';
import { createGateway, type Gateway, type ShutdownOptions, type ShutdownResult } from './gateway';
import type { CatalogModel } from './model-catalog';
import { catalogFromConfig, type ServerConfig, serverConfig } from './server-config';

export interface StartServerOptions {
  /** `--config`: a file that must exist (else `UNITY_CONFIG`, `./configs/system.yaml`, built-in defaults). */
  configPath?: string;
  cwd?: string;
  /** The environment (keys, `UNITY_CONFIG`, `UNITY_API_KEY`, `OLLAMA_HOST`): the CLI passes process.env. */
  env: Record<string, string | undefined>;
  /** Override `server.host` / `server.port`. */
  host?: string;
  port?: number;
  /**
   * Serve a local model too: `llamacpp/<file.gguf>` or `llamacpp/<store name>` (or any model string). It is listed
   * under its model string and becomes the router's last local fallback (`models.fallback`), so a machine without
   * Ollama or a cloud key still answers.
   */
  localModel?: string;
  /** Override `server.drain_timeout_seconds`, in milliseconds. */
  drainTimeoutMs?: number;
  /** Override the server's version shown by /api/version. */
  version?: string;
}

export interface RunningServer {
  /** `http://127.0.0.1:8787` */
  readonly address: string;
  readonly gateway: Gateway;
  /** Where the config came from (a file, or `built-in defaults`). */
  readonly configSource: string;
  readonly models: readonly CatalogModel[];
  /** Stop accepting, let in-flight requests finish (drain timeout), cancel the rest, close the router. */
  shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
}

/** Apply `--local-model` to the config: the model becomes the last local fallback. */
function withLocalModel(config: UnityConfig, localModel: string | undefined): UnityConfig {
  if (!localModel) return config;
  parseModelString(localModel, '--local-model');
  return { ...config, models: { ...config.models, fallback: localModel } };
}

/**
 * `unity serve`: load the config, build the router, and serve it on the OpenAI and Ollama endpoints with metrics,
 * the live event feed and the dashboard.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const loaded = await loadConfig({
    ...(options.configPath !== undefined ? { path: options.configPath } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env,
  });
  const config = withLocalModel(loaded.config, options.localModel);
  const settings: ServerConfig = serverConfig(config as Record<string, unknown>, loaded.source);
  const apiKey = settings.api_key ?? options.env[settings.api_key_env] ?? undefined;
  const router = createRouter({ config, env: options.env });
  const bus = new EventBus();
  const models = catalogFromConfig(config);
  const gateway = createGateway({
    router,
    models,
    bus,
    bodyLimit: settings.body_limit_bytes,
    ...(apiKey ? { apiKey } : {}),
    ...(options.version ? { version: options.version } : {}),
  });
  let address: string;
  try {
    address = await gateway.listen({ host: options.host ?? settings.host, port: options.port ?? settings.port });
  } catch (error) {
    await router.close?.();
    throw error;
  }
  const drainTimeoutMs = options.drainTimeoutMs ?? settings.drain_timeout_seconds * 1000;
  return {
    address,
    gateway,
    configSource: loaded.source,
    models,
    async shutdown(shutdownOptions = {}) {
      const result = await gateway.shutdown({ drainTimeoutMs, ...shutdownOptions });
      await router.close?.();
      return result;
    },
  };
}
