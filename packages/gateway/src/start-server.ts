import { Redactor, urlSecrets } from '@unity/core';
import {
  type CheckPlan,
  type CheckResult,
  checkRequiredModels,
  checksFromConfig,
  HealthMonitor,
  isResultUp,
  requiredModelsError,
} from '@unity/diagnostics';
import {
  cloudApiKeyEnv,
  createRouter,
  embeddingChainOf,
  loadConfig,
  modelPrefixes,
  ollamaHost,
  parseModelString,
  providerIdFor,
  type Router,
  routerRoles,
  traceRouter,
  type UnityConfig,
} from '@unity/llm-router';
import {
  startTracing,
  type Tracing,
  type TracingConfig,
  tracingConfigSection,
  tracingEnvBindings,
} from '@unity/telemetry';
import { AlertManager } from './alerts/alert-manager';
import { type AlertsConfig, alertsConfigSchema } from './alerts/alerts-config';
import { EventBus } from './event-bus';
import { createGateway, type Gateway, type ShutdownOptions, type ShutdownResult } from './gateway';
import { gatewayDataDir, openVirtualKeys } from './keys/open-virtual-keys';
import { VirtualKeys } from './keys/virtual-keys';
import type { CatalogModel } from './model-catalog';
import { ProviderAvailability } from './provider-availability';
import { ReplicaState } from './redis/replica-state';
import { catalogFromConfig, type ServerConfig, serverConfigSchema } from './server-config';
import type { Readiness } from './telemetry-routes';

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
   * Serve a local model too: `llamacpp/<file.gguf>`, `llamacpp/<store name>` (the prefix may be left out) or any
   * model string. It is listed
   * under its model string and becomes the router's last local fallback (`models.fallback`), so a machine without
   * Ollama or a cloud key still answers.
   */
  localModel?: string;
  /** Override `server.drain_timeout_seconds`, in milliseconds. */
  drainTimeoutMs?: number;
  /** Override the server's version shown by /api/version. */
  version?: string;
  /** The clock of virtual keys' expiry, rate windows and budget periods (default Date.now): tests move it. */
  clock?: () => number;
}

export interface RunningServer {
  /** `http://127.0.0.1:8787` */
  readonly address: string;
  readonly gateway: Gateway;
  /** Where the config came from (a file, or `built-in defaults`). */
  readonly configSource: string;
  readonly models: readonly CatalogModel[];
  /** The health monitor, when `server.health_interval_seconds` is above 0. */
  readonly health: HealthMonitor | undefined;
  /** What is missing of `diagnostics.require_models` (each with its fix); empty when all are there. */
  readonly missingRequiredModels: readonly CheckResult[];
  /** Stop accepting, let in-flight requests finish (drain timeout), cancel the rest, close the router. */
  shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
}

/**
 * `--local-model` as a model string: one with a known provider prefix as it is, anything else (a store name, a path
 * to a .gguf file) for the embedded engine: `llamacpp/<it>`.
 */
export function localModelString(value: string): string {
  const prefix = value.slice(0, value.indexOf('/'));
  return prefix !== '' && prefix in modelPrefixes ? value : `llamacpp/${value}`;
}

/** Apply `--local-model` to the config: the model becomes the last local fallback. */
function withLocalModel<C extends UnityConfig>(config: C, localModel: string | undefined): C {
  if (!localModel) return config;
  const modelString = localModelString(localModel);
  parseModelString(modelString, '--local-model');
  return { ...config, models: { ...config.models, fallback: modelString } };
}

/** The router's provider ids the config can use (`openai`, `ollama`, `llamacpp`, …). */
function providerIds(config: UnityConfig): string[] {
  const ids = new Set<string>();
  if (config.cloud_llm.enabled && !config.privacy.local_only) ids.add(config.cloud_llm.provider);
  for (const role of routerRoles) ids.add(providerIdFor(parseModelString(config.models[role])));
  return [...ids];
}

/** Ready when at least one provider is neither reported down by the health monitor nor behind an open breaker. */
function readinessOf(ids: string[], router: Router, health: HealthMonitor | undefined): () => Readiness {
  return () => {
    const breakers = router.breakerStates();
    const providers: Readiness['providers'] = {};
    for (const id of ids) {
      const up = health?.isUp(id);
      const breaker = breakers[id];
      const failing = health?.latest().find((r) => r.provider === id && !isResultUp(r));
      providers[id] = {
        available: up !== false && breaker !== 'open',
        detail:
          up === false
            ? `health check: ${failing?.message ?? 'down'}`
            : breaker === 'open'
              ? 'circuit open after repeated failures'
              : up === true
                ? 'healthy'
                : 'not checked yet',
      };
    }
    return { ready: Object.values(providers).some((p) => p.available), providers };
  };
}

/** A credential header's value as a secret, and its token alone (`Bearer <token>`, `Basic <token>`). */
function headerSecrets(value: string | undefined): string[] {
  if (!value) return [];
  const token = /^(?:bearer|basic|token)\s+(\S+)$/i.exec(value.trim())?.[1];
  return token ? [value, token] : [value];
}

/**
 * The secrets the gateway must never repeat: the gateway's own key, the provider keys the environment holds, the
 * passwords written into the provider URLs, and the tokens sent to the trace collector.
 */
function secretsOf(
  config: UnityConfig & { server: ServerConfig; alerts: AlertsConfig; tracing: TracingConfig },
  env: Record<string, string | undefined>,
  apiKey: string | undefined,
): string[] {
  const keyNames = new Set([cloudApiKeyEnv(config), 'MINIMAX_API_KEY', 'OPENAI_API_KEY']);
  return [
    ...(apiKey ? [apiKey] : []),
    ...[...keyNames].map((name) => env[name]).filter((value): value is string => !!value),
    ...urlSecrets(config.cloud_llm.base_url),
    ...urlSecrets(ollamaHost(config, env)),
    ...(config.server.redis_url ? urlSecrets(config.server.redis_url) : []),
    // A webhook URL often is its own secret (Slack's are): it never appears in an event, error or listing.
    ...config.alerts.webhooks.map((hook) => hook.url),
    // The collector's headers (`tracing.headers`, and the variables `tracing.headers_env` names) carry its tokens.
    ...[
      ...Object.values(config.tracing.headers),
      ...Object.values(config.tracing.headers_env).map((name) => env[name]),
    ].flatMap(headerSecrets),
    ...urlSecrets(config.tracing.endpoint),
  ];
}

/**
 * `unity serve`: load the config, build the router (with the health monitor, so that it skips providers found down),
 * and serve it on the OpenAI and Ollama endpoints with metrics, the live event feed and the dashboard.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const loaded = await loadConfig({
    ...(options.configPath !== undefined ? { path: options.configPath } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env,
    sections: { server: serverConfigSchema, alerts: alertsConfigSchema, tracing: tracingConfigSection },
    envBindings: tracingEnvBindings,
  });
  const config = withLocalModel(loaded.config, options.localModel);
  // The seed's required models: a warning (the app prints it), or a refusal with diagnostics.enforce.
  const missingRequiredModels = await checkRequiredModels(config, { env: options.env });
  if (missingRequiredModels.length > 0 && config.diagnostics.enforce) throw requiredModelsError(missingRequiredModels);
  const settings: ServerConfig = config.server;
  const apiKey = settings.api_key ?? options.env[settings.api_key_env] ?? undefined;
  const secrets = secretsOf(config, options.env, apiKey);
  const redactor = new Redactor(secrets);
  const bus = new EventBus({
    clientBacklog: settings.client_event_backlog,
    transform: (event) => redactor.value(event),
  });
  // Everything opened from here on is closed again if a later step fails (Redis not ready, the router's config, the
  // key store, the port): a failed start leaves no tracing globals, exporter, connection or timer behind.
  let tracing: Tracing | undefined;
  let plan: CheckPlan | undefined;
  let health: HealthMonitor | undefined;
  let replicas: ReplicaState | undefined;
  let router: Router | undefined;
  let untrace: (() => void) | undefined;
  let virtualKeys: VirtualKeys | undefined;
  let alerts: AlertManager | undefined;
  const unfollow: (() => void)[] = [];
  const closeAll = async () => {
    for (const stop of unfollow.splice(0)) stop();
    await alerts?.stop();
    health?.stop();
    await plan?.close();
    await router?.close();
    await virtualKeys?.close();
    await replicas?.close();
    untrace?.();
    await tracing?.shutdown();
  };
  let gateway: Gateway;
  let models: readonly CatalogModel[];
  let address: string;
  try {
    // `tracing:` (off by default): spans of each HTTP request and of the router's attempts, exported over OTLP/HTTP.
    tracing = await startTracing(config.tracing, {
      env: options.env,
      ...(options.version ? { serviceVersion: options.version } : {}),
      onExportError: (error) => bus.publish('tracing.error', { message: error.message }),
    });
    // Each provider's availability, followed once from the bus (breaker and health changes) for both /metrics and
    // the alert rules.
    const availability = new ProviderAvailability();
    for (const id of providerIds(config)) availability.track(id);
    unfollow.push(bus.subscribe((event) => availability.observe(event)));

    if (settings.health_interval_seconds > 0) {
      plan = checksFromConfig(config, { env: options.env, configFile: loaded.source });
      health = new HealthMonitor({ checks: plan.checks, intervalMs: settings.health_interval_seconds * 1000 });
      health.on('change', (change) =>
        bus.publish('health.change', {
          check: change.id,
          title: change.title,
          ...(change.provider ? { provider: change.provider } : {}),
          from: change.from ?? null,
          status: change.to,
          up: isResultUp(change.result),
          message: change.result.message,
          ...(change.result.fix ? { fix: change.result.fix } : {}),
        }),
      );
      health.on('error', (error) => bus.publish('health.error', { message: String(error) }));
    }
    // With server.redis_url, the state replicas share lives in Redis (wait briefly for it: requests then find it there).
    if (settings.redis_url) {
      replicas = new ReplicaState({
        url: settings.redis_url,
        failure: settings.redis_failure,
        timeoutMs: settings.redis_timeout_ms,
        keyPrefix: settings.redis_key_prefix,
        cacheMaxEntries: config.router.cache.max_entries,
        bus,
      });
      await replicas.ready();
    }
    router = createRouter({
      config,
      env: options.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(health ? { health } : {}),
      ...(replicas ? { shared: replicas.shared } : {}),
    });
    untrace = traceRouter(router, tracing?.tracer);
    // The router's own embeddings chain (created on the first embedding request, closed with the router).
    const embedder = { embed: router.embed.bind(router), models: embeddingChainOf(config) };
    models = catalogFromConfig(config, settings.model_aliases);
    // Virtual keys live in the embedded database of the data folder (created on first use), or, with
    // server.redis_url, in Redis, shared by every replica.
    virtualKeys = replicas
      ? new VirtualKeys({
          keys: replicas.keyStore,
          usage: replicas.usageStore,
          prices: settings.prices,
          ...(options.clock ? { clock: options.clock } : {}),
        })
      : openVirtualKeys({
          dataDir: gatewayDataDir(settings.data_dir, options.cwd),
          prices: settings.prices,
          ...(options.clock ? { clock: options.clock } : {}),
        });
    // Alerting: the rules of the config, fed by the live feed, notifying the feed, the webhooks and /api/alerts.
    alerts =
      config.alerts.rules.length > 0
        ? new AlertManager({
            config: config.alerts,
            bus,
            budgets: virtualKeys,
            availability,
            redact: (value) => redactor.value(value),
          })
        : undefined;
    gateway = createGateway({
      embedder,
      router,
      models,
      servePatterns: settings.serve_models,
      cors: settings.cors,
      bus,
      bodyLimit: settings.body_limit_bytes,
      secrets,
      headersTimeoutMs: settings.headers_timeout_seconds * 1000,
      bodyTimeoutMs: settings.body_timeout_seconds * 1000,
      keepAliveTimeoutMs: settings.keep_alive_timeout_seconds * 1000,
      idleTimeoutMs: settings.idle_timeout_seconds * 1000,
      maxConcurrentRequests: settings.max_concurrent_requests,
      maxConcurrentBodies: settings.max_concurrent_bodies,
      maxJsonDepth: settings.max_json_depth,
      wsMaxMessageBytes: settings.ws_max_message_bytes,
      wsMessagesPerSecond: settings.ws_messages_per_second,
      wsBacklogEvents: settings.ws_backlog_events,
      readiness: readinessOf(providerIds(config), router, health),
      virtualKeys,
      estimateOutputTokens: settings.estimate_output_tokens,
      ...(tracing ? { tracer: tracing.tracer } : {}),
      ...(alerts ? { alerts } : {}),
      ...(apiKey ? { apiKey } : {}),
      ...(options.version ? { version: options.version } : {}),
    });
    const { metrics } = gateway;
    metrics.shareAvailability(availability);
    metrics.trackProviders(providerIds(config));
    metrics.trackDisk(gatewayDataDir(settings.data_dir, options.cwd));
    // The tool-call outcomes of agent runs: those reported to /api/runs, and those published on the bus.
    unfollow.push(gateway.bus.subscribe((event) => metrics.observe(event)));
    replicas?.attach(metrics);
    address = await gateway.listen({ host: options.host ?? settings.host, port: options.port ?? settings.port });
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
  health?.start();
  alerts?.start();
  const drainTimeoutMs = options.drainTimeoutMs ?? settings.drain_timeout_seconds * 1000;
  return {
    address,
    gateway,
    configSource: loaded.source,
    models,
    health,
    missingRequiredModels,
    async shutdown(shutdownOptions = {}) {
      health?.stop();
      const result = await gateway.shutdown({ drainTimeoutMs, ...shutdownOptions });
      await closeAll();
      return result;
    },
  };
}
