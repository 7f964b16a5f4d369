import { EventEmitter } from 'node:events';
import { isAbsolute, resolve } from 'node:path';
import {
  type ChatModel,
  type ChatResponse,
  canonicalJson,
  Redactor,
  raceAbort,
  sha256Hex,
  type TokenLogprob,
  type ToolCall,
} from '@unity/core';
import { attemptError, describeAttempts } from './attempt-report';
import { type AuditEntry, AuditLog } from './audit-log';
import { CircuitBreaker } from './circuit-breaker';
import type { RouterRole, UnityConfig } from './config-schema';
import { type Deployment, DeploymentLoad, orderDeployments } from './deployments';
import type { Embedder, EmbedRequest, EmbedResponse } from './embeddings';
import { type Attempt, ConfigError, ProviderError, RouterError, type RouterErrorCode } from './errors';
import {
  describeChainAttempts,
  findLastResort,
  type LastResortModel,
  lastResortEnabled,
  withLastResortFailure,
} from './last-resort';
import { compactToFit, estimateTokens, promptBudget } from './prompt-budget';
import type { Provider, ProviderRequest } from './provider';
import { ProviderFactory, type ResolvedModel } from './provider-factory';
import { enforceToolPlan, planTools, requestContradiction, unhonouredParameter } from './request-options';
import { AbortReason, RequestScope } from './request-scope';
import { cacheKey, ResponseCache } from './response-cache';
import { Backoff, breakerVerdict, decideAfterFailure, type RetrySettings } from './retry-policy';
import type { RouterEventMap, Target } from './router-events';
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

/** One model of a request's chain, with its provider (absent when it cannot be used at all). */
interface Link extends ResolvedModel {
  provider?: Provider;
  remote: boolean;
  /** The model store's model, tried after the chain failed (`router.last_resort: store`). */
  lastResort?: boolean;
  /** A model string with `deployments`: these links, ordered per request by `router.load_balancing`. */
  group?: Link[];
}

type Deployed = Link & { deployment: Deployment };

type AttemptOutcome =
  | { ok: true; response: ChatResponse; compacted?: RouterResponse['compacted']; firstTokenMs: number }
  | { ok: false; error: unknown; committed: boolean; sent: boolean; stop?: AbortReason; param?: string };

const defaultRole: RouterRole = 'reasoning';

/**
 * The hybrid router: one chat API over the cloud model and the local models of a config. See the package README for
 * the routing rules; every answer lists its attempts, and every step is an event (`router.on('attempt', …)`).
 */
export class Router extends EventEmitter<RouterEventMap> implements ChatModel {
  readonly config: UnityConfig;
  private readonly factory: ProviderFactory;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly chains = new Map<string, Promise<Link[]>>();
  private readonly cache:
    | {
        get(key: string): RouterResponse | undefined | Promise<RouterResponse | undefined>;
        set(key: string, value: RouterResponse): unknown;
      }
    | undefined;
  /** The embeddings chain (`models.embedding`), created on the first `embed`. */
  private embedder: Promise<Embedder> | undefined;
  /** Stops listening to other routers' circuits. */
  private readonly unlisten: (() => void) | undefined;
  private readonly audit: AuditLog | undefined;
  private readonly retry: RetrySettings;
  private readonly now: () => number;
  /** API keys and URL passwords in use: never repeated in a message, an event or the audit trail. */
  private readonly redactor: Redactor;
  /** Requests in flight, per-minute usage and latency of each deployment, for balancing and rpm/tpm limits. */
  private readonly load: DeploymentLoad;
  private counter = 0;

  constructor(private readonly options: RouterOptions) {
    super();
    const { config } = options;
    this.config = config;
    this.now = options.now ?? Date.now;
    this.load = new DeploymentLoad(this.now);
    this.factory = new ProviderFactory({
      config,
      env: options.env ?? {},
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.providers ? { providers: options.providers } : {}),
    });
    this.redactor = new Redactor(this.factory.secrets);
    const { retries, cache, audit } = config.router;
    this.retry = {
      maxRetries: retries.max_retries,
      initialDelayMs: retries.initial_delay_ms,
      maxDelayMs: retries.max_delay_ms,
      retryAfterCapMs: retries.retry_after_cap_seconds * 1000,
    };
    const shared = options.shared;
    if (cache.enabled && shared?.cache) {
      const store = shared.cache;
      const ttlMs = cache.ttl_seconds * 1000;
      this.cache = { get: (key) => store.get(key), set: (key, value) => store.set(key, value, ttlMs) };
    } else if (cache.enabled) {
      this.cache = new ResponseCache({ maxEntries: cache.max_entries, ttlMs: cache.ttl_seconds * 1000 });
    }
    this.unlisten = shared?.breakers?.listen(({ provider, until }) => {
      const ms = until - this.now();
      if (ms > 0) this.breaker(provider).coolDown(ms, 'shared');
    });
    const auditPath = options.auditPath ?? (audit.enabled ? audit.path : undefined);
    if (auditPath) {
      const path = isAbsolute(auditPath) ? auditPath : resolve(options.cwd ?? process.cwd(), auditPath);
      this.audit = new AuditLog({ path, redactor: this.redactor });
    }
  }

  /** Answer a request: the first model of the chain that can, with every attempt listed in the response. */
  async chat(request: RouterRequest): Promise<RouterResponse> {
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
    return { [Symbol.asyncIterator]: () => this.run(request, 'stream') };
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
    if (this.cache instanceof ResponseCache) this.cache.clear();
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

  /**
   * The request's chain, built once per (model, role, local-only): the config, the environment and the providers do
   * not change during the router's life. A failed build is not kept.
   */
  private chain(request: RouterRequest, role: RouterRole, localOnly: boolean): Promise<Link[]> {
    const key = `${request.model ?? ''}\n${role}\n${localOnly}`;
    let chain = this.chains.get(key);
    if (!chain) {
      // Requests may name any model: keep the memo small.
      if (this.chains.size >= 256) this.chains.clear();
      chain = this.buildChain(request.model, role, localOnly);
      this.chains.set(key, chain);
      chain.catch(() => this.chains.delete(key));
    }
    return chain;
  }

  /** cloud → the role's local model → models.fallback, de-duplicated; remote ones dropped when local-only. */
  private async buildChain(requestModel: string | undefined, role: RouterRole, localOnly: boolean): Promise<Link[]> {
    const { cloud_llm, models } = this.config;
    const wanted: [string, string][] = [];
    if (requestModel) wanted.push([requestModel, 'request.model']);
    else if (cloud_llm.enabled) wanted.push([this.factory.cloudModel, 'cloud_llm.model']);
    if (wanted.length === 0 || !cloud_llm.enabled || cloud_llm.fallback_to_local) {
      wanted.push([models[role], `models.${role}`], [models.fallback, 'models.fallback']);
    }
    const links: Link[] = [];
    const withheld: string[] = [];
    for (const [modelString, where] of wanted) {
      if (links.some((l) => l.modelString === modelString)) continue;
      const link = await this.link(modelString, where);
      if (localOnly && link.remote) withheld.push(modelString);
      else links.push(link);
    }
    if (links.length === 0) {
      throw new RouterError({
        code: 'NO_PROVIDER',
        message: `no model can serve this request: local-only withholds ${withheld.join(', ')} and no local model is left`,
        fix: 'set a local model under models: (e.g. ollama_chat/qwen2.5-coder:7b), or allow the cloud for this request',
        attempts: [],
      });
    }
    return links;
  }

  /**
   * One model string as a link of a chain: its provider, or why it cannot be used (a skip with its fix); for a model
   * string with deployments, a group of one link per deployment.
   */
  private async link(modelString: string, where: string): Promise<Link> {
    const model = this.factory.resolve(modelString, where);
    const deployments = this.factory.deploymentsOf(modelString);
    if (deployments.length === 0) return this.providerLink(model);
    const group = await Promise.all(deployments.map((d) => this.providerLink(d)));
    return { ...model, remote: group.some((l) => l.remote), group };
  }

  private async providerLink(model: ResolvedModel): Promise<Link> {
    if (model.unavailable) return { ...model, remote: model.cloud || model.ref.kind === 'openai-compatible' };
    try {
      const provider = await this.factory.provider(model);
      return { ...model, provider, remote: model.cloud || provider.remote };
    } catch (error) {
      const unavailable = ProviderError.isInstance(error)
        ? error
        : new ProviderError({
            code: 'NOT_INSTALLED',
            message: `cannot create the ${model.providerId} provider: ${attemptError(error).message}`,
            provider: model.providerId,
            model: model.ref.model,
            cause: error,
          });
      return { ...model, unavailable, remote: model.cloud };
    }
  }

  /**
   * The last resort after the chain failed: the model store's newest model run by the embedded engine, as one more
   * link (undefined when `router.last_resort` or `cloud_llm.fallback_to_local` turn it off, the store is empty, or
   * the chain already tried that file).
   */
  private async lastResortLink(chain: readonly Link[]): Promise<(Link & { stored: LastResortModel }) | undefined> {
    if (!lastResortEnabled(this.config)) return undefined;
    const tried = chain.filter((l) => l.ref.kind === 'llamacpp').map((l) => l.ref.model);
    const stored = await findLastResort(this.factory.storeDir, tried);
    if (!stored) return undefined;
    const link = await this.link(`llamacpp/${stored.name}`, 'router.last_resort');
    // Local by nature (in-process), so local-only requests and privacy.local_only allow it.
    return { ...link, remote: false, lastResort: true, stored };
  }

  /** Would a later model of another provider take the request now? */
  private alternativeAfter(chain: readonly Link[], index: number): boolean {
    const current = chain[index]?.providerId;
    return chain.some(
      (link, i) =>
        i > index &&
        link.providerId !== current &&
        !link.unavailable &&
        this.options.health?.isUp(link.providerId) !== false &&
        this.breaker(link.providerId).canAdmit(),
    );
  }

  private async *run(request: RouterRequest, kind: 'chat' | 'stream'): AsyncGenerator<RouterStreamEvent, void> {
    const requestId = ++this.counter;
    const startedAt = this.now();
    const started = performance.now();
    const role = request.role ?? defaultRole;
    const localOnly = request.localOnly === true || this.config.privacy.local_only;
    const attempts: Attempt[] = [];
    const deadlineMs = request.deadlineMs ?? secondsToMs(this.config.router.deadline_seconds);
    const scope = new RequestScope(
      request.signal,
      deadlineMs === undefined
        ? undefined
        : {
            ms: deadlineMs,
            setting:
              request.deadlineMs !== undefined
                ? `deadlineMs = ${deadlineMs}`
                : `router.deadline_seconds = ${deadlineMs / 1000}`,
          },
    );
    let ended = false;
    const finish = (response: RouterResponse | undefined, error: RouterError | undefined) => {
      ended = true;
      const ms = performance.now() - started;
      if (this.listenerCount('request-end') > 0) {
        this.emit('request-end', {
          requestId,
          kind,
          ok: response !== undefined,
          ms,
          ...(response ? { response } : {}),
          ...(error ? { error } : {}),
        });
      }
      if (this.audit) this.writeAudit(requestId, kind, role, startedAt, ms, request, attempts, response, error);
    };
    const fail = (code: RouterErrorCode, message: string, fix: string | undefined, cause?: unknown, param?: string) => {
      const error = new RouterError({
        code,
        message,
        ...(fix ? { fix } : {}),
        attempts: [...attempts],
        cause,
        ...(param ? { param } : {}),
      });
      finish(undefined, error);
      return error;
    };
    const stopped = (reason: AbortReason, cause: unknown) =>
      reason.kind === 'deadline'
        ? fail(
            'DEADLINE_EXCEEDED',
            `no answer within the request's deadline (${reason.setting})${attempts.length ? `; attempts so far:\n${describeAttempts(attempts)}` : ''}`,
            'raise the deadline, or make the first model in the chain a faster one',
            cause,
          )
        : fail('ABORTED', 'the request was aborted by the caller', undefined, reason.callerReason);

    try {
      const contradiction = requestContradiction(request);
      if (contradiction) {
        throw fail('INVALID_REQUEST', contradiction.message, contradiction.fix, undefined, contradiction.param);
      }
      // No usable model at all (local-only withholds them all) is an outage the last resort may still answer.
      let noProvider: RouterError | undefined;
      const chain = await this.chain(request, role, localOnly).catch((error: unknown) => {
        if (RouterError.isInstance(error) && error.code === 'NO_PROVIDER' && lastResortEnabled(this.config)) {
          noProvider = error;
          return [];
        }
        if (RouterError.isInstance(error)) finish(undefined, error);
        throw error;
      });
      if (scope.reason) throw stopped(scope.reason, undefined);

      const key = this.cache && request.cache !== false ? cacheKey(cacheIdentity(request, role, localOnly)) : undefined;
      const hit = key ? await this.cache?.get(key) : undefined;
      if (hit) {
        const response: RouterResponse = { ...hit, attempts: [], cached: true };
        this.emit('cache-hit', { requestId, provider: hit.provider, model: hit.model });
        if (kind === 'stream') yield* replay(response);
        finish(response, undefined);
        yield { type: 'finish', response };
        return;
      }

      let previous: { target: Target; error: NonNullable<Attempt['error']> } | undefined;
      /** Options a model was skipped for because it cannot honour them (`logprobs` on the embedded engine). */
      const unhonoured = new Set<string>();
      const { strategy } = this.config.router.load_balancing;
      const links: Link[] = chain.flatMap((l) =>
        l.group ? orderDeployments(l.group as Deployed[], strategy, this.load) : [l],
      );
      let lastResort: LastResortModel | undefined;
      for (let index = 0; ; index++) {
        if (index === links.length) {
          // Every model of the chain failed: once, the model store's model is tried after them.
          if (lastResort) break;
          const extra = await this.lastResortLink(chain);
          if (scope.reason) throw stopped(scope.reason, undefined);
          if (!extra) break;
          lastResort = extra.stored;
          links.push(extra);
          this.emit('last-resort', {
            requestId,
            provider: extra.providerId,
            model: extra.modelString,
            name: extra.stored.name,
            path: extra.stored.path,
            attempts: [...attempts],
          });
        }
        const link = links[index]!;
        const target: Target = { provider: link.providerId, model: link.modelString };
        const mark = link.lastResort ? { lastResort: true } : {};
        const skip = (error: NonNullable<Attempt['error']>) => {
          const attempt: Attempt = { ...target, ...mark, ok: false, error, ms: 0, skipped: true };
          attempts.push(attempt);
          this.emit('attempt', { requestId, ...attempt });
          previous = { target, error };
        };
        if (link.unavailable || !link.provider) {
          skip(this.describe(link.unavailable));
          continue;
        }
        if (this.options.health?.isUp(link.providerId) === false) {
          skip({
            code: 'UNHEALTHY',
            message: `${link.providerId} is reported down by the health monitor`,
            fix: 'run `unity doctor` to see why',
          });
          continue;
        }
        const overLimit = link.deployment ? this.load.overLimit(link.deployment) : undefined;
        if (overLimit) {
          skip({
            code: 'RATE_LIMITED',
            message: `${overLimit}, so it was not sent this request`,
            fix: `raise its rpm/tpm under deployments:, or add another deployment of ${link.modelString}`,
          });
          continue;
        }
        const breaker = this.breaker(link.providerId);
        const backoff = new Backoff(this.retry);
        for (let tryNo = 1; ; tryNo++) {
          const permit = breaker.tryAcquire();
          if (!permit) {
            const until = Math.max(0, Math.ceil((breaker.retryAt - this.now()) / 1000));
            skip({
              code: 'CIRCUIT_OPEN',
              message: `${link.providerId} failed repeatedly or asked to wait; its circuit is ${breaker.state}${breaker.state === 'open' ? ` for ${until} s more` : ' with a probe in flight'}`,
              fix: `wait, or fix the failures listed for ${link.providerId}`,
            });
            break;
          }
          if (previous && tryNo === 1) {
            this.emit('fallback', { requestId, from: previous.target, to: target, reason: previous.error });
          }
          if (this.listenerCount('attempt-start') > 0) {
            this.emit('attempt-start', { requestId, ...target, try: tryNo, probe: permit.probe });
          }
          const attemptStarted = performance.now();
          if (link.deployment) this.load.started(link.providerId);
          const outcome: AttemptOutcome = yield* this.attempt(request, link, link.provider, scope, kind, requestId);
          const ms = performance.now() - attemptStarted;
          if (link.deployment) {
            const { firstTokenMs, response } = outcome.ok ? outcome : { firstTokenMs: 0, response: undefined };
            this.load.finished(
              link.providerId,
              response ? { firstTokenMs, tokens: response.usage.totalTokens } : undefined,
            );
          }

          if (outcome.ok) {
            permit.success();
            const attempt: Attempt = { ...target, ...mark, ok: true, ms };
            attempts.push(attempt);
            if (this.listenerCount('attempt') > 0) this.emit('attempt', { requestId, ...attempt });
            const response: RouterResponse = {
              ...outcome.response,
              provider: link.providerId,
              attempts: [...attempts],
              ...(outcome.compacted ? { compacted: outcome.compacted } : {}),
            };
            if (key && response.finishReason !== 'error') this.cache?.set(key, response);
            finish(response, undefined);
            yield { type: 'finish', response };
            return;
          }

          if (outcome.stop) {
            permit.release();
            attempts.push({ ...target, ...mark, ok: false, error: this.describe(outcome.error), ms });
            throw stopped(outcome.stop, outcome.error);
          }
          if (outcome.param) unhonoured.add(outcome.param);
          const verdict = breakerVerdict(outcome.error);
          if (verdict === 'failure') permit.failure();
          else if (verdict === 'success') permit.success();
          else permit.release();
          const error = withPullHint(link, this.describe(outcome.error));
          const attempt: Attempt = {
            ...target,
            ...mark,
            ok: false,
            error,
            ms,
            ...(outcome.sent ? {} : { skipped: true }),
          };
          attempts.push(attempt);
          this.emit('attempt', { requestId, ...attempt });

          if (outcome.committed) {
            const interrupted = fail(
              'STREAM_INTERRUPTED',
              `the answer from ${link.modelString} broke off after it had started: ${error.message} [${error.code}]`,
              error.fix ?? 'ask again; the text received so far is incomplete',
              outcome.error,
            );
            yield { type: 'error', error: interrupted };
            return;
          }

          const cooldownMs = this.config.router.load_balancing.cooldown_seconds * 1000;
          const rejectedKey = ProviderError.isInstance(outcome.error) && outcome.error.code === 'AUTH_FAILED';
          if (
            link.deployment &&
            cooldownMs > 0 &&
            (verdict === 'failure' || rejectedKey) &&
            this.alternativeAfter(links, index)
          ) {
            // Another deployment can serve: this one rests for the cooldown, the next takes the request now.
            breaker.coolDown(cooldownMs);
            previous = { target, error };
            break;
          }
          const decision = decideAfterFailure(outcome.error, {
            retriesMade: tryNo - 1,
            alternativeAvailable: this.alternativeAfter(links, index),
            fallbackOnClientErrors: this.config.router.fallback_on_client_errors,
            settings: this.retry,
            backoff,
          });
          if (decision.action === 'stop') {
            const which =
              ProviderError.isInstance(outcome.error) && outcome.error.code === 'AUTH_FAILED' ? 'key' : 'request';
            throw fail(
              'REQUEST_REFUSED',
              `${link.modelString} refused the ${which}: ${error.message} [${error.code}]. Not falling back: ${
                which === 'key'
                  ? 'a rejected key (401/403) is a configuration error'
                  : 'a bad request (400) would be refused by every model'
              }, not an outage${attempts.length > 1 ? `\nattempts:\n${describeAttempts(attempts)}` : ''}`,
              `${error.fix ? `${error.fix}; or ` : ''}set router.fallback_on_client_errors: true to fall back anyway`,
              outcome.error,
            );
          }
          if (decision.action === 'retry') {
            this.emit('retry', { requestId, ...target, try: tryNo + 1, delayMs: decision.delayMs, error });
            try {
              await scope.sleep(decision.delayMs);
            } catch (cause) {
              throw stopped(scope.reason ?? new AbortReason('caller'), cause);
            }
            continue;
          }
          if (decision.coolDownMs !== undefined) breaker.coolDown(decision.coolDownMs);
          previous = { target, error };
          break;
        }
      }
      const failure = noProvider
        ? { code: noProvider.code, message: attemptError(noProvider).message, fix: noProvider.fix }
        : {
            code: 'ALL_PROVIDERS_FAILED' as const,
            message: `no model could answer (${chain.length} in the chain):\n${describeChainAttempts(attempts)}`,
            fix: 'apply the fix of any one model above',
          };
      if (!lastResort && noProvider) {
        finish(undefined, noProvider);
        throw noProvider;
      }
      const [param] = unhonoured;
      if (param && attempts.every((a) => a.error?.code === 'UNSUPPORTED')) {
        throw fail(
          'UNSUPPORTED_PARAMETER',
          `no model of the chain can honour ${param}, so none was sent the request:\n${describeChainAttempts(attempts)}`,
          `drop ${param} from the request, or add a model that honours it to the chain (an OpenAI-compatible or Ollama model)`,
          undefined,
          param,
        );
      }
      const { message, fix } = lastResort ? withLastResortFailure(failure, lastResort, attempts) : failure;
      throw fail(failure.code, message, fix);
    } catch (error) {
      // Errors the router raised went through `fail`; anything else (a bad request.model) ends the call as it is.
      ended = true;
      throw error;
    } finally {
      scope.dispose();
      if (!ended) {
        fail('ABORTED', 'the stream was closed by its consumer before the answer was complete', undefined);
      }
    }
  }

  /** One attempt on one model; in stream mode it yields the events after the commit point. */
  private async *attempt(
    request: RouterRequest,
    link: Link,
    provider: Provider,
    scope: RequestScope,
    kind: 'chat' | 'stream',
    requestId: number,
  ): AsyncGenerator<RouterStreamEvent, AttemptOutcome> {
    const controller = new AbortController();
    const unlink = scope.link(controller);
    const { cloud_llm, router } = this.config;
    const timeout = link.remote
      ? { ms: cloud_llm.timeout_seconds * 1000, setting: `cloud_llm.timeout_seconds = ${cloud_llm.timeout_seconds}` }
      : {
          ms: router.local_timeout_seconds * 1000,
          setting: `router.local_timeout_seconds = ${router.local_timeout_seconds}`,
        };
    const timer = setTimeout(() => controller.abort(new AbortReason('attempt-timeout', timeout.setting)), timeout.ms);
    let firstTokenTimer: NodeJS.Timeout | undefined;
    let committed = false;
    let done = false;
    const signal = controller.signal;
    const began = performance.now();
    let firstTokenMs: number | undefined;
    try {
      const prepared = await this.prepare(request, link, provider, signal, requestId);
      if ('refused' in prepared) {
        const param = prepared.param ? { param: prepared.param } : {};
        return { ok: false, error: prepared.refused, committed, sent: false, ...param };
      }
      const plan = planTools(request, prepared.messages, provider.features);
      const providerRequest: ProviderRequest = {
        ...passedOptions(request),
        messages: plan.messages,
        model: link.ref.model,
        signal,
        ...(plan.tools.length > 0 ? { tools: plan.tools } : {}),
        ...(plan.toolChoice !== undefined ? { toolChoice: plan.toolChoice } : {}),
        ...(plan.parallelToolCalls !== undefined ? { parallelToolCalls: plan.parallelToolCalls } : {}),
        ...maxOutputTokens(request, link.cloud ? cloud_llm.max_tokens : router.max_output_tokens),
      };
      const compacted = prepared.compacted ? { compacted: prepared.compacted } : {};
      const where = { provider: link.providerId, model: link.modelString };
      // A forced tool call the router enforces is checked on the whole answer before anything is streamed.
      if (kind === 'chat' || plan.mustCall !== undefined) {
        const response = enforceToolPlan(plan, await raceAbort(provider.chat(providerRequest), signal), where);
        done = true;
        if (kind === 'stream') yield* replay(response);
        return { ok: true, response, ...compacted, firstTokenMs: performance.now() - began };
      }

      firstTokenTimer = setTimeout(
        () =>
          controller.abort(
            new AbortReason(
              'first-token-timeout',
              `router.first_token_timeout_seconds = ${router.first_token_timeout_seconds}`,
            ),
          ),
        router.first_token_timeout_seconds * 1000,
      );
      const iterator = provider.stream(providerRequest)[Symbol.asyncIterator]();
      let content = '';
      let reasoning = '';
      const toolCalls: ToolCall[] = [];
      const logprobs: TokenLogprob[] = [];
      try {
        for (;;) {
          const step = await raceAbort(iterator.next(), signal);
          if (step.done) {
            throw new ProviderError({
              code: 'BAD_RESPONSE',
              message: `the ${link.providerId} stream ended without a finish event`,
              provider: link.providerId,
              model: link.ref.model,
            });
          }
          const event = step.value;
          if (event.type === 'finish') {
            done = true;
            const response: ChatResponse = {
              content,
              toolCalls,
              ...(reasoning ? { reasoning } : {}),
              usage: event.usage,
              finishReason: event.finishReason,
              model: event.model,
              ...(logprobs.length > 0 ? { logprobs } : {}),
            };
            return { ok: true, response, ...compacted, firstTokenMs: firstTokenMs ?? performance.now() - began };
          }
          if (!committed) {
            committed = true;
            firstTokenMs = performance.now() - began;
            clearTimeout(firstTokenTimer);
          }
          if (event.type === 'text-delta') {
            content += event.text;
            if (event.logprobs) logprobs.push(...event.logprobs);
          } else if (event.type === 'reasoning-delta') reasoning += event.text;
          else if (plan.firstCallOnly && toolCalls.length > 0) continue;
          else toolCalls.push(event.toolCall);
          yield event;
        }
      } finally {
        // The consumer stopped, or the attempt failed: make sure the upstream request is cancelled.
        if (!done && !signal.aborted) controller.abort(new AbortReason('consumer-stopped'));
        // Always close the provider's stream, after a finish too, so that its own clean-up (finally blocks) runs.
        iterator.return?.().catch(() => {});
      }
    } catch (error) {
      const reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
      if (reason?.kind === 'caller' || reason?.kind === 'deadline') {
        return { ok: false, error, committed, sent: true, stop: reason };
      }
      if (reason?.kind === 'attempt-timeout' || reason?.kind === 'first-token-timeout') {
        const what = reason.kind === 'attempt-timeout' ? 'no complete answer' : 'no first token';
        return {
          ok: false,
          committed,
          sent: true,
          error: new ProviderError({
            code: 'TIMEOUT',
            message: `${what} from ${link.providerId} within ${reason.setting}`,
            fix: `raise ${reason.setting?.split(' ')[0]}${link.remote ? '' : ', or warm the model up first (a cold load can take minutes)'}`,
            provider: link.providerId,
            model: link.ref.model,
            cause: error,
          }),
        };
      }
      return { ok: false, error, committed, sent: true };
    } finally {
      clearTimeout(timer);
      clearTimeout(firstTokenTimer);
      unlink();
    }
  }

  /**
   * Check the model's capabilities before sending: tools only to a model that has them, and a prompt that fits its
   * context (compacted when `router.context_overflow` is `compact`, refused otherwise). A refusal is an `UNSUPPORTED`
   * ProviderError returned as `refused`: nothing was sent.
   */
  private async prepare(
    request: RouterRequest,
    link: Link,
    provider: Provider,
    signal: AbortSignal,
    requestId: number,
  ): Promise<
    | { messages: RouterRequest['messages']; compacted?: RouterResponse['compacted'] }
    | { refused: ProviderError; param?: string }
  > {
    const param = unhonouredParameter(request, provider.features);
    if (param) {
      return {
        param,
        refused: new ProviderError({
          code: 'UNSUPPORTED',
          message: `${link.modelString} cannot honour ${param}, so the request was not sent to it`,
          fix: `drop ${param}, or serve the request with a model that honours it`,
          provider: link.providerId,
          model: link.ref.model,
        }),
      };
    }
    if (!provider.capabilities) return { messages: request.messages };
    const capabilities = await raceAbort(provider.capabilities(link.ref.model, signal), signal);
    if (!capabilities) return { messages: request.messages };
    const unsupported = (message: string, fix: string) => ({
      refused: new ProviderError({
        code: 'UNSUPPORTED',
        message,
        fix,
        provider: link.providerId,
        model: link.ref.model,
      }),
    });
    const tools = request.tools ?? [];
    if (tools.length > 0 && !capabilities.tools) {
      return unsupported(
        `${link.modelString} cannot call tools (its capabilities lack "tools"), so the request was not sent to it`,
        `use a model with tool support for models.${request.role ?? defaultRole} (e.g. ollama_chat/qwen2.5-coder:7b)`,
      );
    }
    // Ollama runs the model with num_ctx = min(real context, ollama.max_context): check against what it will use.
    const maxContext = link.ref.kind === 'ollama' ? this.config.ollama.max_context : undefined;
    const contextLength =
      maxContext === undefined
        ? capabilities.contextLength
        : Math.min(capabilities.contextLength ?? maxContext, maxContext);
    if (contextLength === undefined) return { messages: request.messages };
    const budget = promptBudget(contextLength, request.maxOutputTokens);
    const estimated = estimateTokens(request.messages, tools);
    if (estimated <= budget) return { messages: request.messages };
    const tooLong = `the prompt (about ${estimated} tokens) does not fit ${link.modelString}'s context of ${contextLength} tokens`;
    if (this.config.router.context_overflow === 'refuse') {
      return unsupported(
        `${tooLong}; it was not sent rather than truncated`,
        'shorten the conversation, use a model with a longer context, or set router.context_overflow: compact',
      );
    }
    const compaction = compactToFit(request.messages, tools, budget);
    if (!compaction) {
      return unsupported(
        `${tooLong}, even with every older turn dropped`,
        'shorten the system prompt or the last message, or use a model with a longer context',
      );
    }
    const compacted = {
      droppedMessages: compaction.droppedMessages,
      estimatedTokens: compaction.estimatedTokens,
      contextLength,
    };
    this.emit('compacted', { requestId, provider: link.providerId, model: link.modelString, ...compacted });
    return { messages: compaction.messages, compacted };
  }

  private writeAudit(
    requestId: number,
    kind: 'chat' | 'stream',
    role: RouterRole,
    startedAt: number,
    ms: number,
    request: RouterRequest,
    attempts: readonly Attempt[],
    response: RouterResponse | undefined,
    error: RouterError | undefined,
  ): void {
    const audit = this.audit!;
    const includeText = this.config.router.audit.include_text;
    const answer = response ? canonicalJson({ content: response.content, toolCalls: response.toolCalls }) : undefined;
    const entry: AuditEntry = {
      time: new Date(startedAt).toISOString(),
      kind,
      ok: response !== undefined,
      role,
      ...(response ? { provider: response.provider, model: response.model } : {}),
      cached: response?.cached === true,
      latencyMs: Math.round(ms * 1000) / 1000,
      ...(response ? { usage: response.usage, finishReason: response.finishReason } : {}),
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
      attempts: attempts.map((a) => ({
        provider: a.provider,
        model: a.model,
        ok: a.ok,
        ...(a.error ? { code: a.error.code } : {}),
        ms: Math.round(a.ms * 1000) / 1000,
        ...(a.skipped ? { skipped: true } : {}),
      })),
      promptSha256: sha256Hex(canonicalJson({ messages: request.messages, tools: request.tools })),
      ...(answer ? { answerSha256: sha256Hex(answer) } : {}),
      ...(includeText ? { prompt: request.messages, ...(response ? { answer: response.content } : {}) } : {}),
    };
    audit.write(entry).catch((cause: unknown) => this.emit('audit-error', { requestId, error: cause }));
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

/** An Ollama that cannot be reached will next need the model: say so now, so one message covers both steps. */
function withPullHint(link: Link, error: NonNullable<Attempt['error']>): NonNullable<Attempt['error']> {
  if (link.ref.kind !== 'ollama' || error.code !== 'CONNECTION_FAILED' || !error.fix) return error;
  return { ...error, fix: `${error.fix}; then \`ollama pull ${link.ref.model}\` if the model is not pulled yet` };
}

function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

/** The request's sampling and output options a provider receives as they are. */
function passedOptions(request: RouterRequest): Partial<ProviderRequest> {
  const passed: Partial<ProviderRequest> = {};
  const keys = [
    'responseFormat',
    'temperature',
    'seed',
    'topP',
    'topK',
    'frequencyPenalty',
    'presencePenalty',
    'logprobs',
    'reasoningEffort',
    'user',
  ] as const;
  for (const key of keys) if (request[key] !== undefined) Object.assign(passed, { [key]: request[key] });
  if (request.stop?.length) passed.stop = request.stop;
  return passed;
}

function maxOutputTokens(request: RouterRequest, fallback: number | undefined): { maxOutputTokens?: number } {
  const value = request.maxOutputTokens ?? fallback;
  return value === undefined ? {} : { maxOutputTokens: value };
}

/** What makes two requests the same for the exact-match cache. */
function cacheIdentity(request: RouterRequest, role: RouterRole, localOnly: boolean) {
  return {
    role,
    localOnly,
    model: request.model,
    messages: request.messages,
    tools: request.tools,
    responseFormat: request.responseFormat,
    temperature: request.temperature,
    maxOutputTokens: request.maxOutputTokens,
    stop: request.stop,
    seed: request.seed,
    toolChoice: request.toolChoice,
    parallelToolCalls: request.parallelToolCalls,
    topP: request.topP,
    topK: request.topK,
    frequencyPenalty: request.frequencyPenalty,
    presencePenalty: request.presencePenalty,
    logprobs: request.logprobs,
    reasoningEffort: request.reasoningEffort,
  };
}

/** A cached answer as stream events. */
function* replay(response: ChatResponse): Generator<RouterStreamEvent> {
  if (response.reasoning) yield { type: 'reasoning-delta', text: response.reasoning };
  if (response.content) {
    yield {
      type: 'text-delta',
      text: response.content,
      ...(response.logprobs ? { logprobs: response.logprobs } : {}),
    };
  }
  for (const toolCall of response.toolCalls) yield { type: 'tool-call', toolCall };
}
