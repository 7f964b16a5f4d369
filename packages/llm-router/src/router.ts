import { EventEmitter } from 'node:events';
import { isAbsolute, resolve } from 'node:path';
import { type ChatModel, Redactor } from '@unity/core';
import { attemptError } from './attempt-report';
import { AuditLog, auditEntry } from './audit-log';
import { createRouterCache, type RouterCache, type RouterCacheStats } from './cache/router-cache';
import { ChainBuilder } from './chain';
import { CircuitBreaker } from './circuit-breaker';
import type { RouterRole, UnityConfig } from './config-schema';
import { DeploymentLoad } from './deployments';
import type { Embedder, EmbedRequest, EmbedResponse } from './embeddings';
import { isEnsembleModel } from './ensembles/ensemble-config';
import { EnsembleRunner } from './ensembles/ensemble-runner';
import { type Attempt, ConfigError, type RouterError } from './errors';
import type { Provider } from './provider';
import { ProviderFactory } from './provider-factory';
import { RequestRun, type RunRecord, type RunServices } from './request-run';
import type { RetrySettings } from './retry-policy';
import type { RouterEventMap } from './router-events';
import type { RoleModel, RouterRequest, RouterResponse, RouterStreamEvent } from './router-types';
import type { SharedRouterState } from './shared-state';

export interface RouterOptions {
  config: UnityConfig;
  /** Environment to read API keys and OLLAMA_HOST from. The router never reads process.env itself. */
  env?: Record<string, string | undefined>;
  /** Providers to use instead of creating them, keyed by provider id (`minimax`, `openai`, `ollama`, `llamacpp`). */
  providers?: Record<string, Provider>;
  /** A health monitor: a provider it reports down (`false`) is skipped at zero cost. */
  health?: { isUp(providerId: string): boolean | undefined };
  /** Write the audit trail to this file (turns it on; overrides `router.audit.path`). */
  auditPath?: string;
  /** Resolves a relative audit path and `llamacpp.store_dir` (default: process.cwd()). */
  cwd?: string;
  /** Clock for breaker cooldowns (default `Date.now`). */
  now?: () => number;
  /**
   * State shared with other routers (the replicas of a gateway): a response cache they all read and fill, and a
   * channel on which a circuit one of them opens is announced, so that the others skip that provider too.
   */
  shared?: SharedRouterState;
}

/**
 * The hybrid router: one chat API over the cloud model and the local models of a config. See the package README for
 * the routing rules; every answer lists its attempts, and every step is an event (`router.on('attempt', …)`).
 */
export class Router extends EventEmitter<RouterEventMap> implements ChatModel {
  readonly config: UnityConfig;
  private readonly factory: ProviderFactory;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly cache: RouterCache | undefined;
  /** The embeddings chain (`models.embedding`), created on the first `embed`. */
  private embedder: Promise<Embedder> | undefined;
  /** Answers `ensemble/<name>` models (`ensembles:`), created on the first such request. */
  private ensembleRunner: EnsembleRunner | undefined;
  /** Stops listening to other routers' circuits. */
  private readonly unlisten: (() => void) | undefined;
  private readonly audit: AuditLog | undefined;
  private readonly now: () => number;
  /** API keys and URL passwords in use: never repeated in a message, an event or the audit trail. */
  private readonly redactor: Redactor;
  /** What every request run uses: built once. */
  private readonly services: RunServices;
  private counter = 0;

  constructor(private readonly options: RouterOptions) {
    super();
    const { config } = options;
    this.config = config;
    this.now = options.now ?? Date.now;
    this.factory = new ProviderFactory({
      config,
      env: options.env ?? {},
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.providers ? { providers: options.providers } : {}),
    });
    this.redactor = new Redactor(this.factory.secrets);
    const { retries, audit } = config.router;
    const retry: RetrySettings = {
      maxRetries: retries.max_retries,
      initialDelayMs: retries.initial_delay_ms,
      maxDelayMs: retries.max_delay_ms,
      retryAfterCapMs: retries.retry_after_cap_seconds * 1000,
    };
    const shared = options.shared;
    this.cache = createRouterCache({
      config,
      ...(shared?.cache ? { shared: shared.cache } : {}),
      embed: (request) => this.embed(request),
      events: this,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      now: this.now,
    });
    this.unlisten = shared?.breakers?.listen(({ provider, until }) => {
      const ms = until - this.now();
      if (ms > 0) this.breaker(provider).coolDown(ms, 'shared');
    });
    const auditPath = options.auditPath ?? (audit.enabled ? audit.path : undefined);
    if (auditPath) {
      const path = isAbsolute(auditPath) ? auditPath : resolve(options.cwd ?? process.cwd(), auditPath);
      this.audit = new AuditLog({ path, redactor: this.redactor });
    }
    this.services = {
      config,
      chains: new ChainBuilder(config, this.factory),
      cache: this.cache,
      load: new DeploymentLoad(this.now),
      retry,
      health: options.health,
      now: this.now,
      emit: (event, ...payload) => this.emit(event, ...(payload as never)),
      listens: (event) => this.listenerCount(event) > 0,
      breaker: (providerId) => this.breaker(providerId),
      describe: (error) => this.describe(error),
      ...(this.audit ? { audit: (run, response, error) => this.writeAudit(run, response, error) } : {}),
    };
  }

  /** Answer a request: the first model of the chain that can, with every attempt listed in the response. */
  async chat(request: RouterRequest): Promise<RouterResponse> {
    if (isEnsembleModel(request.model)) return this.ensembles().chat(request);
    for await (const event of this.run(request, 'chat')) {
      if (event.type === 'finish') return event.response;
      if (event.type === 'error') throw event.error;
    }
    /* c8 ignore next */
    throw new Error('the router ended a chat without an answer (a bug)');
  }

  /**
   * Stream an answer. Before the first token the router may still fall back invisibly; after it a failure yields one
   * `error` event and the stream ends. When every model fails before a first token, iterating throws a RouterError;
   * an aborted signal throws RouterError `ABORTED`. Breaking out of the loop cancels the upstream request.
   */
  stream(request: RouterRequest): AsyncIterable<RouterStreamEvent> {
    if (isEnsembleModel(request.model)) return this.ensembles().stream(request);
    return { [Symbol.asyncIterator]: () => this.run(request, 'stream') };
  }

  /** The runner of `ensemble/<name>` models (./ensembles), created on the first such request. */
  private ensembles(): EnsembleRunner {
    this.ensembleRunner ??= new EnsembleRunner(this);
    return this.ensembleRunner;
  }

  /**
   * Embed text with the first model of `models.embedding` that can (OpenAI-compatible `/embeddings`, Ollama
   * `/api/embed`, the embedded engine), with fallback, retries and breakers of its own. See `Embedder`.
   */
  async embed(request: EmbedRequest): Promise<EmbedResponse> {
    const { options } = this;
    this.embedder ??= import('./embeddings').then(({ createEmbedder }) =>
      createEmbedder({
        config: this.config,
        ...(options.env ? { env: options.env } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.health ? { health: options.health } : {}),
        now: this.now,
      }),
    );
    return (await this.embedder).embed(request);
  }

  /** A ChatModel bound to one role (`models.<role>` after the cloud). */
  forRole(role: RouterRole): RoleModel {
    return {
      chat: (request) => this.chat({ ...request, role }),
      stream: (request) => this.stream({ ...request, role }),
    };
  }

  /** The response cache's hits and misses per layer, writes and errors (undefined when `router.cache` is off). */
  cacheStats(): RouterCacheStats | undefined {
    return this.cache?.stats();
  }

  /** The circuit state of each provider used so far. */
  breakerStates(): Record<string, CircuitBreaker['state']> {
    return Object.fromEntries([...this.breakers].map(([id, breaker]) => [id, breaker.state]));
  }

  // What the local engines have and hold, for the gateway's /api/show, /api/tags, /api/ps and /api/pull. The inventory
  // (./model-inventory) is loaded on first use only.
  private inventoryLoad: Promise<import('./model-inventory').ModelInventory> | undefined;
  private inventory(): Promise<import('./model-inventory').ModelInventory> {
    this.inventoryLoad ??= import('./model-inventory').then(
      ({ ModelInventory }) =>
        new ModelInventory({ config: this.config, env: this.options.env ?? {}, storeDir: this.factory.storeDir }),
    );
    return this.inventoryLoad;
  }

  /**
   * What is known of a model string: the context window the router serves it with, its capabilities (only what is
   * true), family, size and digest. Undefined when its provider does not have it (not pulled, no such file).
   */
  async modelInfo(
    modelString: string,
    signal?: AbortSignal,
  ): Promise<import('./model-inventory').ModelInfo | undefined> {
    return (await this.inventory()).info(modelString, signal);
  }

  /** The models the local engines have: Ollama's pulled models (`ollama_chat/…`) and the model store's (`llamacpp/…`). */
  async availableModels(signal?: AbortSignal): Promise<import('./model-inventory').ModelInfo[]> {
    return (await this.inventory()).available(signal);
  }

  /** The models the engines hold loaded now: Ollama's `/api/ps` and the GGUF files the embedded engine has loaded. */
  async runningModels(signal?: AbortSignal): Promise<import('./model-inventory').RunningModel[]> {
    return (await this.inventory()).running(signal);
  }

  /**
   * Pull `ollama_chat/<tag>` on the Ollama host, or `llamacpp/<https://…|hf:…>` into the model store, with progress in
   * Ollama's shape (`{status}`, `{status, digest, total, completed}`, `{status: 'success'}`). Throws a ProviderError.
   */
  async *pullModel(
    modelString: string,
    signal?: AbortSignal,
  ): AsyncGenerator<import('./model-inventory').ModelPullProgress> {
    yield* (await this.inventory()).pull(modelString, signal);
  }

  /** Close the providers the router created, and finish writing the audit trail. */
  async close(): Promise<void> {
    this.unlisten?.();
    await (await this.embedder)?.close();
    await this.factory.close();
    await this.audit?.flush();
    await this.cache?.close();
  }

  /**
   * An attempt's error for attempts, events and messages, with any API key or URL password an upstream (or the HTTP
   * client) quoted back redacted, in the message and in the fix.
   */
  private describe(error: unknown): NonNullable<Attempt['error']> {
    const described = attemptError(error);
    const message = this.redactor.text(described.message);
    const fix = described.fix === undefined ? undefined : this.redactor.text(described.fix);
    if (message === described.message && fix === described.fix) return described;
    return { ...described, message, ...(fix === undefined ? {} : { fix }) };
  }

  private breaker(providerId: string): CircuitBreaker {
    let breaker = this.breakers.get(providerId);
    if (!breaker) {
      breaker = new CircuitBreaker(providerId, {
        failureThreshold: this.config.router.breaker.failure_threshold,
        cooldownMs: this.config.router.breaker.cooldown_seconds * 1000,
        now: this.now,
        onChange: (change) => {
          // Tell the other routers, unless they told us (which would echo between replicas for ever).
          if (change.to === 'open' && change.reason !== 'shared' && change.until !== undefined) {
            this.options.shared?.breakers?.announce({ provider: change.provider, until: change.until });
          }
          this.emit('breaker', change);
        },
      });
      this.breakers.set(providerId, breaker);
    }
    return breaker;
  }

  private run(request: RouterRequest, kind: 'chat' | 'stream'): AsyncGenerator<RouterStreamEvent, void> {
    const requestId = ++this.counter;
    if (this.listenerCount('request-start') > 0) {
      this.emit('request-start', {
        requestId,
        kind,
        role: request.role ?? 'reasoning',
        ...(request.model ? { model: request.model } : {}),
        request,
      });
    }
    return new RequestRun(this.services, request, kind, requestId).execute();
  }

  private writeAudit(run: RunRecord, response: RouterResponse | undefined, error: RouterError | undefined): void {
    const entry = auditEntry(run, response, error, this.config.router.audit.include_text);
    this.audit
      ?.write(entry)
      .catch((cause: unknown) => this.emit('audit-error', { requestId: run.requestId, error: cause }));
  }
}

/** Create a router over a config. Nothing is contacted until the first request. */
export function createRouter(options: RouterOptions): Router {
  if (options?.config?.cloud_llm === undefined) {
    throw new ConfigError({
      code: 'CONFIG_INVALID',
      message: `createRouter: options.config is ${options?.config === undefined ? 'missing' : 'not a loaded Unity config (no cloud_llm section)'}`,
      fix: 'pass a loaded config: createRouter({ config: (await loadConfig({ env: process.env })).config, env: process.env }), or defaultConfig',
    });
  }
  return new Router(options);
}
