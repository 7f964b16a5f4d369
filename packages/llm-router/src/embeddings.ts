import { EventEmitter } from 'node:events';
import { Redactor, raceAbort } from '@unity/core';
import { attemptError, describeAttempts } from './attempt-report';
import { type BreakerChange, CircuitBreaker } from './circuit-breaker';
import type { UnityConfig } from './config-schema';
import { embeddingChainOf } from './embedding-config';
import type { EmbeddingProvider, EmbeddingProviderResult } from './embedding-provider';
import { type EmbeddingLink, EmbeddingProviders } from './embedding-providers';
import { type Attempt, ConfigError, ProviderError, RouterError, type RouterErrorCode } from './errors';
import { ProviderFactory } from './provider-factory';
import { AbortReason, RequestScope, requestDeadline } from './request-scope';
import { Backoff, breakerVerdict, decideAfterFailure, type RetrySettings } from './retry-policy';
import type { Target } from './router-events';

export interface EmbedderOptions {
  config: UnityConfig;
  /** Environment to read API keys and OLLAMA_HOST from. The embedder never reads process.env itself. */
  env?: Record<string, string | undefined>;
  /** Resolves a relative `llamacpp.store_dir` (default: process.cwd()). */
  cwd?: string;
  /** Providers to use instead of creating them, keyed by provider id (`openai`, `ollama`, `llamacpp`). */
  providers?: Record<string, EmbeddingProvider>;
  /** A health monitor: a provider it reports down (`false`) is skipped at zero cost. */
  health?: { isUp(providerId: string): boolean | undefined };
  /** Clock for breaker cooldowns (default `Date.now`). */
  now?: () => number;
}

export interface EmbedRequest {
  /** One text or several (each non-empty). */
  input: string | string[];
  /**
   * One model string (`ollama/nomic-embed-text`) to use instead of the chain, without fallback to other models (their
   * vectors would be of another space). Default: `models.embedding`, in order.
   */
  model?: string;
  /** The vector length wanted: passed to upstreams that can shorten vectors; a model answering another length fails. */
  dimensions?: number;
  /** `false`: an input longer than the model's context fails rather than being cut (Ollama cuts by default). */
  truncate?: boolean;
  signal?: AbortSignal;
  /** Never send the texts to an OpenAI-compatible (cloud) model or a remote Ollama (also `privacy.local_only`). */
  localOnly?: boolean;
  /** Bound on the whole call, every attempt included, in ms (default `router.deadline_seconds`). */
  deadlineMs?: number;
}

export interface EmbedResponse {
  /** One unit-length vector per input, in input order. */
  embeddings: number[][];
  /** The model string that answered (`ollama/nomic-embed-text`): vectors of different models do not mix. */
  model: string;
  /** The provider id that answered (`ollama`, `openai`, `llamacpp`). */
  provider: string;
  /** Input tokens as the upstream counted them (0 when it does not say). */
  usage: { inputTokens: number };
  attempts: Attempt[];
}

/** What the embedder does, as typed events (the router's, for the embedding chain). */
export interface EmbedderEventMap {
  attempt: [Attempt & { requestId: number }];
  retry: [Target & { requestId: number; try: number; delayMs: number; error: { code: string; message: string } }];
  fallback: [{ requestId: number; from: Target; to: Target; reason: { code: string; message: string } }];
  breaker: [BreakerChange];
  'request-end': [{ requestId: number; ok: boolean; ms: number; response?: EmbedResponse; error?: RouterError }];
}

interface Link extends EmbeddingLink {
  remote: boolean;
}

type Outcome = { ok: true; result: EmbeddingProviderResult } | { ok: false; error: unknown; stop?: AbortReason };

/**
 * Embeddings over a chain of models (`models.embedding`): the first that answers, with the router's resilience —
 * retries with backoff, a circuit breaker per provider, Retry-After cool-downs, attempt and overall timeouts, the
 * caller's AbortSignal — and every attempt listed in the answer or the error. Standalone, so that a gateway can hold
 * one beside its router.
 */
export class Embedder extends EventEmitter<EmbedderEventMap> {
  readonly config: UnityConfig;
  private readonly providers: EmbeddingProviders;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly retry: RetrySettings;
  private readonly redactor: Redactor;
  private readonly now: () => number;
  private counter = 0;

  constructor(private readonly options: EmbedderOptions) {
    super();
    const { config } = options;
    this.config = config;
    this.now = options.now ?? Date.now;
    const env = options.env ?? {};
    const cwd = options.cwd ? { cwd: options.cwd } : {};
    this.providers = new EmbeddingProviders({
      config,
      env,
      ...cwd,
      ...(options.providers ? { providers: options.providers } : {}),
    });
    this.redactor = new Redactor(new ProviderFactory({ config, env, ...cwd }).secrets);
    const { retries } = config.router;
    this.retry = {
      maxRetries: retries.max_retries,
      initialDelayMs: retries.initial_delay_ms,
      maxDelayMs: retries.max_delay_ms,
      retryAfterCapMs: retries.retry_after_cap_seconds * 1000,
    };
  }

  /** The configured chain (`models.embedding`), in order. */
  get models(): string[] {
    return embeddingChainOf(this.config);
  }

  /** The circuit state of each provider used so far. */
  breakerStates(): Record<string, CircuitBreaker['state']> {
    return Object.fromEntries([...this.breakers].map(([id, breaker]) => [id, breaker.state]));
  }

  /** Close the providers the embedder created. */
  async close(): Promise<void> {
    await this.providers.close();
  }

  /** Embed the input with the first model of the chain that can. Throws RouterError with every attempt otherwise. */
  async embed(request: EmbedRequest): Promise<EmbedResponse> {
    const requestId = ++this.counter;
    const started = performance.now();
    const inputs = checkRequest(request);
    const attempts: Attempt[] = [];
    const scope = new RequestScope(request.signal, requestDeadline(request, this.config));
    const end = (response: EmbedResponse | undefined, error: RouterError | undefined) => {
      this.emit('request-end', {
        requestId,
        ok: response !== undefined,
        ms: performance.now() - started,
        ...(response ? { response } : {}),
        ...(error ? { error } : {}),
      });
    };
    const fail = (code: RouterErrorCode, message: string, fix: string | undefined, cause?: unknown) => {
      const error = new RouterError({ code, message, ...(fix ? { fix } : {}), attempts: [...attempts], cause });
      end(undefined, error);
      return error;
    };
    const stopped = (reason: AbortReason, cause: unknown) =>
      reason.kind === 'deadline'
        ? fail(
            'DEADLINE_EXCEEDED',
            `no embeddings within the request's deadline (${reason.setting})${attempts.length ? `; attempts so far:\n${describeAttempts(attempts)}` : ''}`,
            'raise the deadline, or put a faster model first in models.embedding',
            cause,
          )
        : fail('ABORTED', 'the embedding request was aborted by the caller', undefined, reason.callerReason);

    try {
      const links = await this.chain(request).catch((error: unknown) => {
        if (RouterError.isInstance(error)) end(undefined, error);
        throw error;
      });
      let previous: { target: Target; error: NonNullable<Attempt['error']> } | undefined;
      for (const [index, link] of links.entries()) {
        const target: Target = { provider: link.providerId, model: link.modelString };
        const skip = (error: NonNullable<Attempt['error']>) => {
          const attempt: Attempt = { ...target, ok: false, error, ms: 0, skipped: true };
          attempts.push(attempt);
          this.emit('attempt', { requestId, ...attempt });
          previous = { target, error };
        };
        if (!link.provider) {
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
          const attemptStarted = performance.now();
          const outcome = await this.attempt(link, link.provider, inputs, request, scope);
          const ms = performance.now() - attemptStarted;
          if (outcome.ok) {
            permit.success();
            const attempt: Attempt = { ...target, ok: true, ms };
            attempts.push(attempt);
            this.emit('attempt', { requestId, ...attempt });
            const response: EmbedResponse = {
              embeddings: outcome.result.embeddings,
              model: link.modelString,
              provider: link.providerId,
              usage: { inputTokens: outcome.result.inputTokens },
              attempts: [...attempts],
            };
            end(response, undefined);
            return response;
          }
          if (outcome.stop) {
            permit.release();
            attempts.push({ ...target, ok: false, error: this.describe(outcome.error), ms });
            throw stopped(outcome.stop, outcome.error);
          }
          const verdict = breakerVerdict(outcome.error);
          if (verdict === 'failure') permit.failure();
          else if (verdict === 'success') permit.success();
          else permit.release();
          const error = this.describe(outcome.error);
          const attempt: Attempt = { ...target, ok: false, error, ms };
          attempts.push(attempt);
          this.emit('attempt', { requestId, ...attempt });
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
              `${link.modelString} refused the embedding ${which}: ${error.message} [${error.code}]. Not falling back: ${
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
      throw fail(
        'ALL_PROVIDERS_FAILED',
        `no embedding model could answer (${links.length} in the chain):\n${describeAttempts(attempts)}`,
        'apply the fix of any one model above',
      );
    } finally {
      scope.dispose();
    }
  }

  /** The request's models: its own `model` alone, else `models.embedding`; remote ones dropped when local-only. */
  private async chain(request: EmbedRequest): Promise<Link[]> {
    const wanted: [string, string][] = request.model
      ? [[request.model, 'request.model']]
      : this.models.map((m, i) => [m, `models.embedding[${i}]`]);
    const localOnly = request.localOnly === true || this.config.privacy.local_only;
    const links: Link[] = [];
    const withheld: string[] = [];
    for (const [modelString, where] of wanted) {
      const link = await this.providers.link(modelString, where);
      // An OpenAI-compatible model is the cloud's, as for chat: remote wherever its base URL points.
      const remote = link.ref.kind === 'openai-compatible' || link.provider?.remote === true;
      if (localOnly && remote) withheld.push(modelString);
      else links.push({ ...link, remote });
    }
    if (links.length === 0) {
      throw new RouterError({
        code: 'NO_PROVIDER',
        message: `no embedding model can serve this request: local-only withholds ${withheld.join(', ')}`,
        fix: 'add a local model to models.embedding (e.g. ollama/nomic-embed-text), or allow the cloud for this request',
        attempts: [],
      });
    }
    return links;
  }

  /** One attempt, bounded by the provider's timeout (cloud or local), checked against what was asked. */
  private async attempt(
    link: Link,
    provider: EmbeddingProvider,
    input: string[],
    { dimensions, truncate }: Pick<EmbedRequest, 'dimensions' | 'truncate'>,
    scope: RequestScope,
  ): Promise<Outcome> {
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
    const signal = controller.signal;
    try {
      const result = await raceAbort(
        provider.embed({
          model: link.ref.model,
          input,
          signal,
          ...(dimensions === undefined ? {} : { dimensions }),
          ...(truncate === undefined ? {} : { truncate }),
        }),
        signal,
      );
      return { ok: true, result: checkResult(link, result, input.length, dimensions) };
    } catch (error) {
      const reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
      if (reason?.kind === 'caller' || reason?.kind === 'deadline') return { ok: false, error, stop: reason };
      if (reason?.kind === 'attempt-timeout') {
        return {
          ok: false,
          error: new ProviderError({
            code: 'TIMEOUT',
            message: `no embeddings from ${link.providerId} within ${reason.setting}`,
            fix: `raise ${reason.setting?.split(' ')[0]}${link.remote ? '' : ', or warm the model up first (a cold load can take minutes)'}`,
            provider: link.providerId,
            model: link.ref.model,
            cause: error,
          }),
        };
      }
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }

  private describe(error: unknown): NonNullable<Attempt['error']> {
    const described = attemptError(error);
    const message = this.redactor.text(described.message);
    const fix = described.fix === undefined ? undefined : this.redactor.text(described.fix);
    return { ...described, message, ...(fix === undefined ? {} : { fix }) };
  }

  private breaker(providerId: string): CircuitBreaker {
    let breaker = this.breakers.get(providerId);
    if (!breaker) {
      breaker = new CircuitBreaker(providerId, {
        failureThreshold: this.config.router.breaker.failure_threshold,
        cooldownMs: this.config.router.breaker.cooldown_seconds * 1000,
        now: this.now,
        onChange: (change) => this.emit('breaker', change),
      });
      this.breakers.set(providerId, breaker);
    }
    return breaker;
  }

  private alternativeAfter(chain: readonly Link[], index: number): boolean {
    const current = chain[index]?.providerId;
    return chain.some(
      (link, i) =>
        i > index &&
        link.providerId !== current &&
        link.provider !== undefined &&
        this.options.health?.isUp(link.providerId) !== false &&
        this.breaker(link.providerId).canAdmit(),
    );
  }
}

/** Create an embedder over a config. Nothing is contacted until the first request. */
export function createEmbedder(options: EmbedderOptions): Embedder {
  if (options?.config?.models?.embedding === undefined) {
    throw new ConfigError({
      code: 'CONFIG_INVALID',
      message: 'createEmbedder: options.config is not a loaded Unity config (no models.embedding)',
      fix: 'pass a loaded config: createEmbedder({ config: (await loadConfig({ env: process.env })).config, env: process.env })',
    });
  }
  return new Embedder(options);
}

/** The texts of a request, or a REQUEST_REFUSED naming the field at fault. */
function checkRequest(request: EmbedRequest): string[] {
  const refuse = (message: string, fix: string) =>
    new RouterError({ code: 'REQUEST_REFUSED', message, fix, attempts: [] });
  const inputs = typeof request.input === 'string' ? [request.input] : request.input;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw refuse('embed: input must be a string or a non-empty list of strings', 'pass the text(s) to embed as input');
  }
  for (const [i, text] of inputs.entries()) {
    if (typeof text !== 'string' || text === '') {
      throw refuse(
        `embed: input[${i}] is ${typeof text === 'string' ? 'an empty string' : `not a string (${typeof text})`}`,
        'send only non-empty strings; drop empty ones before embedding',
      );
    }
  }
  const dimensions = request.dimensions;
  if (dimensions !== undefined && (!Number.isInteger(dimensions) || dimensions < 1)) {
    throw refuse(
      `embed: dimensions must be a positive integer, got ${String(dimensions)}`,
      'leave dimensions out, or pass e.g. 256',
    );
  }
  return inputs;
}

/** A provider's answer, checked: one vector per input, of finite numbers, of the length asked for. */
function checkResult(
  link: Link,
  result: EmbeddingProviderResult,
  count: number,
  dimensions: number | undefined,
): EmbeddingProviderResult {
  const error = (code: 'BAD_RESPONSE' | 'UNSUPPORTED', message: string, fix: string) =>
    new ProviderError({ code, message, fix, provider: link.providerId, model: link.ref.model });
  if (result.embeddings.length !== count) {
    throw error(
      'BAD_RESPONSE',
      `${link.modelString} returned ${result.embeddings.length} vectors for ${count} inputs`,
      'retry; if it persists, check that the server speaks the expected protocol at this address',
    );
  }
  for (const [i, vector] of result.embeddings.entries()) {
    if (vector.length === 0 || !vector.every(Number.isFinite)) {
      throw error(
        'BAD_RESPONSE',
        `${link.modelString} returned ${vector.length === 0 ? 'an empty vector' : 'a vector with non-finite values'} for input[${i}]`,
        'check that the model is an embedding model',
      );
    }
    if (dimensions !== undefined && vector.length !== dimensions) {
      throw error(
        'UNSUPPORTED',
        `${link.modelString} returned vectors of ${vector.length} dimensions, not the ${dimensions} asked for`,
        'leave dimensions out, or use a model that can shorten its vectors (text-embedding-3-*, nomic-embed-text)',
      );
    }
  }
  return result;
}
