import { attemptError, describeAttempts } from './attempt-report';
import type { CacheContext, RouterCache } from './cache/router-cache';
import type { ChainBuilder, DeployedLink, Link } from './chain';
import type { CircuitBreaker } from './circuit-breaker';
import type { RouterRole, UnityConfig } from './config-schema';
import { type DeploymentLoad, orderDeployments } from './deployments';
import { type Attempt, ProviderError, RouterError, type RouterErrorCode } from './errors';
import { describeChainAttempts, type LastResortModel, lastResortEnabled, withLastResortFailure } from './last-resort';
import { type AttemptContext, type AttemptOutcome, attemptLink, replay } from './link-attempt';
import { requestContradiction } from './request-options';
import { AbortReason, RequestScope, requestDeadline } from './request-scope';
import { Backoff, breakerVerdict, decideAfterFailure, type RetrySettings } from './retry-policy';
import type { RouterEventMap, Target } from './router-events';
import type { RouterRequest, RouterResponse, RouterStreamEvent } from './router-types';

type AttemptError = NonNullable<Attempt['error']>;

/** What a request run needs from its router: built once per router, shared by its runs. */
export interface RunServices {
  config: UnityConfig;
  chains: ChainBuilder;
  cache: RouterCache | undefined;
  load: DeploymentLoad;
  retry: RetrySettings;
  health: { isUp(providerId: string): boolean | undefined } | undefined;
  now: () => number;
  emit<E extends keyof RouterEventMap>(event: E, ...payload: RouterEventMap[E]): void;
  listens(event: keyof RouterEventMap): boolean;
  breaker(providerId: string): CircuitBreaker;
  /** An attempt's error with secrets redacted. */
  describe(error: unknown): AttemptError;
  /** Write the request to the audit trail (absent when it is off). */
  audit?: (run: RunRecord, response: RouterResponse | undefined, error: RouterError | undefined) => void;
}

/** What the audit trail records of a run. */
export interface RunRecord {
  requestId: number;
  kind: 'chat' | 'stream';
  role: RouterRole;
  startedAt: number;
  ms: number;
  request: RouterRequest;
  attempts: readonly Attempt[];
}

/**
 * One request through the router: its chain tried link by link — skip a link that cannot serve, try one (with
 * retries, its breaker's permit and the fallback decision), fail with every attempt listed, or finish with an answer.
 * Every way out goes through `finish` once, which emits `request-end` and writes the audit trail.
 */
export class RequestRun {
  private readonly attempts: Attempt[] = [];
  private readonly started = performance.now();
  private readonly startedAt: number;
  private readonly role: RouterRole;
  private readonly cacheContext: CacheContext;
  private readonly scope: RequestScope;
  private readonly attemptContext: AttemptContext;
  /** The last model that failed, named by the next `fallback` event. */
  private previous: { target: Target; error: AttemptError } | undefined;
  /** Options a model was skipped for because it cannot honour them (`logprobs` on the embedded engine). */
  private readonly unhonoured = new Set<string>();
  private lastResort: LastResortModel | undefined;
  private ended = false;

  constructor(
    private readonly services: RunServices,
    private readonly request: RouterRequest,
    private readonly kind: 'chat' | 'stream',
    private readonly requestId: number,
  ) {
    const { config } = services;
    this.startedAt = services.now();
    this.role = request.role ?? 'reasoning';
    this.cacheContext = {
      role: this.role,
      localOnly: request.localOnly === true || config.privacy.local_only,
      requestId,
    };
    this.scope = new RequestScope(request.signal, requestDeadline(request, config));
    this.attemptContext = {
      config,
      kind,
      scope: this.scope,
      onCompacted: (event) => services.emit('compacted', { requestId, ...event }),
    };
  }

  async *execute(): AsyncGenerator<RouterStreamEvent, void> {
    const { services, request } = this;
    try {
      const contradiction = requestContradiction(request);
      if (contradiction) {
        throw this.fail('INVALID_REQUEST', contradiction.message, contradiction.fix, undefined, contradiction.param);
      }
      const { chain, noProvider } = await this.resolveChain();
      if (this.scope.reason) throw this.stopped(this.scope.reason, undefined);

      const hit = await services.cache?.lookup(request, this.cacheContext);
      if (hit) {
        const response: RouterResponse = { ...hit, attempts: [], cached: true };
        services.emit('cache-hit', { requestId: this.requestId, provider: hit.provider, model: hit.model });
        if (this.kind === 'stream') yield* replay(response);
        this.finish(response, undefined);
        yield { type: 'finish', response };
        return;
      }

      const { strategy } = services.config.router.load_balancing;
      const links: Link[] = chain.flatMap((l) =>
        l.group ? orderDeployments(l.group as DeployedLink[], strategy, services.load) : [l],
      );
      for (let index = 0; ; index++) {
        if (index === links.length && !(await this.addLastResort(chain, links))) break;
        if ((yield* this.tryLink(links, index)) === 'answered') return;
      }
      throw this.allFailed(chain.length, noProvider);
    } catch (error) {
      // Errors the run raised went through `fail`; anything else (a bad request.model) ends the call as it is.
      this.ended = true;
      throw error;
    } finally {
      this.scope.dispose();
      if (!this.ended) this.fail('ABORTED', 'the stream was closed by its consumer before the answer was complete');
    }
  }

  /** The chain; none at all (local-only withholds every model) is an outage the last resort may still answer. */
  private async resolveChain(): Promise<{ chain: Link[]; noProvider?: RouterError }> {
    const { request, services } = this;
    try {
      return { chain: await services.chains.chain(request.model, this.role, this.cacheContext.localOnly) };
    } catch (error) {
      if (RouterError.isInstance(error) && error.code === 'NO_PROVIDER' && lastResortEnabled(services.config)) {
        return { chain: [], noProvider: error };
      }
      if (RouterError.isInstance(error)) this.finish(undefined, error);
      throw error;
    }
  }

  /** Every model of the chain failed: once, the model store's model is tried after them. */
  private async addLastResort(chain: readonly Link[], links: Link[]): Promise<boolean> {
    if (this.lastResort) return false;
    const extra = await this.services.chains.lastResort(chain);
    if (this.scope.reason) throw this.stopped(this.scope.reason, undefined);
    if (!extra) return false;
    this.lastResort = extra.stored;
    links.push(extra);
    this.services.emit('last-resort', {
      requestId: this.requestId,
      provider: extra.providerId,
      model: extra.modelString,
      name: extra.stored.name,
      path: extra.stored.path,
      attempts: [...this.attempts],
    });
    return true;
  }

  /** Why a link cannot take the request now (nothing is sent), or undefined. */
  private unusable(link: Link): AttemptError | undefined {
    const { services } = this;
    if (link.unavailable || !link.provider) return services.describe(link.unavailable);
    if (services.health?.isUp(link.providerId) === false) {
      return {
        code: 'UNHEALTHY',
        message: `${link.providerId} is reported down by the health monitor`,
        fix: 'run `unity doctor` to see why',
      };
    }
    const overLimit = link.deployment ? services.load.overLimit(link.deployment) : undefined;
    if (overLimit) {
      return {
        code: 'RATE_LIMITED',
        message: `${overLimit}, so it was not sent this request`,
        fix: `raise its rpm/tpm under deployments:, or add another deployment of ${link.modelString}`,
      };
    }
    return undefined;
  }

  /** Record a link that was not sent the request. */
  private skip(link: Link, error: AttemptError): void {
    const target = targetOf(link);
    const attempt: Attempt = { ...target, ...lastResortMark(link), ok: false, error, ms: 0, skipped: true };
    this.attempts.push(attempt);
    this.services.emit('attempt', { requestId: this.requestId, ...attempt });
    this.previous = { target, error };
  }

  /** Try one link of the chain, retrying it while the retry policy says so; `next` moves on to the following link. */
  private async *tryLink(
    links: readonly Link[],
    index: number,
  ): AsyncGenerator<RouterStreamEvent, 'answered' | 'next'> {
    const { services, requestId } = this;
    const link = links[index] as Link;
    const unusable = this.unusable(link);
    if (unusable) {
      this.skip(link, unusable);
      return 'next';
    }
    const provider = link.provider as NonNullable<Link['provider']>;
    const target = targetOf(link);
    const breaker = services.breaker(link.providerId);
    const backoff = new Backoff(services.retry);
    for (let tryNo = 1; ; tryNo++) {
      const permit = breaker.tryAcquire();
      if (!permit) {
        const until = Math.max(0, Math.ceil((breaker.retryAt - services.now()) / 1000));
        this.skip(link, {
          code: 'CIRCUIT_OPEN',
          message: `${link.providerId} failed repeatedly or asked to wait; its circuit is ${breaker.state}${breaker.state === 'open' ? ` for ${until} s more` : ' with a probe in flight'}`,
          fix: `wait, or fix the failures listed for ${link.providerId}`,
        });
        return 'next';
      }
      if (this.previous && tryNo === 1) {
        services.emit('fallback', { requestId, from: this.previous.target, to: target, reason: this.previous.error });
      }
      if (services.listens('attempt-start')) {
        services.emit('attempt-start', { requestId, ...target, try: tryNo, probe: permit.probe });
      }
      const attemptStarted = performance.now();
      if (link.deployment) services.load.started(link.providerId);
      let outcome: AttemptOutcome | undefined;
      try {
        outcome = yield* attemptLink(this.request, link, provider, this.attemptContext);
      } finally {
        // The consumer stopped the stream mid-attempt: no verdict, so the permit (maybe the half-open probe) and the
        // deployment's in-flight count are given back.
        if (outcome === undefined) {
          permit.release();
          if (link.deployment) services.load.finished(link.providerId, undefined);
        }
      }
      const ms = performance.now() - attemptStarted;
      if (link.deployment) {
        const answered = outcome.ok
          ? { firstTokenMs: outcome.firstTokenMs, tokens: outcome.response.usage.totalTokens }
          : undefined;
        services.load.finished(link.providerId, answered);
      }

      if (outcome.ok) {
        permit.success();
        const attempt: Attempt = { ...target, ...lastResortMark(link), ok: true, ms };
        this.attempts.push(attempt);
        if (services.listens('attempt')) services.emit('attempt', { requestId, ...attempt });
        const response: RouterResponse = {
          ...outcome.response,
          provider: link.providerId,
          attempts: [...this.attempts],
          ...(outcome.compacted ? { compacted: outcome.compacted } : {}),
        };
        services.cache?.save(this.request, this.cacheContext, response);
        this.finish(response, undefined);
        yield { type: 'finish', response };
        return 'answered';
      }

      if (outcome.stop) {
        permit.release();
        const attempt: Attempt = {
          ...target,
          ...lastResortMark(link),
          ok: false,
          error: services.describe(outcome.error),
          ms,
        };
        this.attempts.push(attempt);
        services.emit('attempt', { requestId, ...attempt });
        throw this.stopped(outcome.stop, outcome.error);
      }
      if (outcome.param) this.unhonoured.add(outcome.param);
      const verdict = breakerVerdict(outcome.error);
      if (verdict === 'failure') permit.failure();
      else if (verdict === 'success') permit.success();
      else permit.release();
      const error = withPullHint(link, services.describe(outcome.error));
      const attempt: Attempt = {
        ...target,
        ...lastResortMark(link),
        ok: false,
        error,
        ms,
        ...(outcome.sent ? {} : { skipped: true }),
      };
      this.attempts.push(attempt);
      services.emit('attempt', { requestId, ...attempt });

      if (outcome.committed) {
        const interrupted = this.fail(
          'STREAM_INTERRUPTED',
          `the answer from ${link.modelString} broke off after it had started: ${error.message} [${error.code}]`,
          error.fix ?? 'ask again; the text received so far is incomplete',
          outcome.error,
        );
        yield { type: 'error', error: interrupted };
        return 'answered';
      }
      const next = await this.afterFailure(links, index, outcome.error, error, { tryNo, verdict, backoff });
      if (next === 'next') {
        this.previous = { target, error };
        return 'next';
      }
    }
  }

  /** After a failed attempt: retry the same link (after its delay), or move on; throws when the request must stop. */
  private async afterFailure(
    links: readonly Link[],
    index: number,
    cause: unknown,
    error: AttemptError,
    step: { tryNo: number; verdict: ReturnType<typeof breakerVerdict>; backoff: Backoff },
  ): Promise<'retry' | 'next'> {
    const { services, requestId } = this;
    const link = links[index] as Link;
    const breaker = services.breaker(link.providerId);
    const rejectedKey = ProviderError.isInstance(cause) && cause.code === 'AUTH_FAILED';
    const cooldownMs = services.config.router.load_balancing.cooldown_seconds * 1000;
    if (
      link.deployment &&
      cooldownMs > 0 &&
      (step.verdict === 'failure' || rejectedKey) &&
      this.alternativeAfter(links, index)
    ) {
      // Another deployment can serve: this one rests for the cooldown, the next takes the request now.
      breaker.coolDown(cooldownMs);
      return 'next';
    }
    const decision = decideAfterFailure(cause, {
      retriesMade: step.tryNo - 1,
      alternativeAvailable: this.alternativeAfter(links, index),
      fallbackOnClientErrors: services.config.router.fallback_on_client_errors,
      settings: services.retry,
      backoff: step.backoff,
    });
    if (decision.action === 'stop') {
      const which = rejectedKey ? 'key' : 'request';
      throw this.fail(
        'REQUEST_REFUSED',
        `${link.modelString} refused the ${which}: ${error.message} [${error.code}]. Not falling back: ${
          which === 'key'
            ? 'a rejected key (401/403) is a configuration error'
            : 'a bad request (400) would be refused by every model'
        }, not an outage${this.attempts.length > 1 ? `\nattempts:\n${describeAttempts(this.attempts)}` : ''}`,
        `${error.fix ? `${error.fix}; or ` : ''}set router.fallback_on_client_errors: true to fall back anyway`,
        cause,
      );
    }
    if (decision.action === 'retry') {
      services.emit('retry', { requestId, ...targetOf(link), try: step.tryNo + 1, delayMs: decision.delayMs, error });
      try {
        await this.scope.sleep(decision.delayMs);
      } catch (sleepError) {
        throw this.stopped(this.scope.reason ?? new AbortReason('caller'), sleepError);
      }
      return 'retry';
    }
    if (decision.coolDownMs !== undefined) breaker.coolDown(decision.coolDownMs);
    return 'next';
  }

  /** Would a later model of another provider take the request now? */
  private alternativeAfter(links: readonly Link[], index: number): boolean {
    const { services } = this;
    const current = links[index]?.providerId;
    return links.some(
      (link, i) =>
        i > index &&
        link.providerId !== current &&
        !link.unavailable &&
        services.health?.isUp(link.providerId) !== false &&
        services.breaker(link.providerId).canAdmit(),
    );
  }

  /** The error after every link failed (or none could be used). */
  private allFailed(chainLength: number, noProvider: RouterError | undefined): RouterError {
    const { attempts, lastResort } = this;
    if (!lastResort && noProvider) {
      this.finish(undefined, noProvider);
      return noProvider;
    }
    const failure = noProvider
      ? { code: noProvider.code, message: attemptError(noProvider).message, fix: noProvider.fix }
      : {
          code: 'ALL_PROVIDERS_FAILED' as const,
          message: `no model could answer (${chainLength} in the chain):\n${describeChainAttempts(attempts)}`,
          fix: 'apply the fix of any one model above',
        };
    const [param] = this.unhonoured;
    if (param && attempts.every((a) => a.error?.code === 'UNSUPPORTED')) {
      return this.fail(
        'UNSUPPORTED_PARAMETER',
        `no model of the chain can honour ${param}, so none was sent the request:\n${describeChainAttempts(attempts)}`,
        `drop ${param} from the request, or add a model that honours it to the chain (an OpenAI-compatible or Ollama model)`,
        undefined,
        param,
      );
    }
    const { message, fix } = lastResort ? withLastResortFailure(failure, lastResort, attempts) : failure;
    return this.fail(failure.code, message, fix);
  }

  /** The request stopped: the caller aborted, or the deadline passed. */
  private stopped(reason: AbortReason, cause: unknown): RouterError {
    if (reason.kind !== 'deadline')
      return this.fail('ABORTED', 'the request was aborted by the caller', undefined, reason.callerReason);
    const { attempts } = this;
    return this.fail(
      'DEADLINE_EXCEEDED',
      `no answer within the request's deadline (${reason.setting})${attempts.length ? `; attempts so far:\n${describeAttempts(attempts)}` : ''}`,
      'raise the deadline, or make the first model in the chain a faster one',
      cause,
    );
  }

  /** End the request with an error listing every attempt. */
  private fail(code: RouterErrorCode, message: string, fix?: string, cause?: unknown, param?: string): RouterError {
    const error = new RouterError({
      code,
      message,
      ...(fix ? { fix } : {}),
      attempts: [...this.attempts],
      cause,
      ...(param ? { param } : {}),
    });
    this.finish(undefined, error);
    return error;
  }

  private finish(response: RouterResponse | undefined, error: RouterError | undefined): void {
    this.ended = true;
    const { services } = this;
    const ms = performance.now() - this.started;
    if (services.listens('request-end')) {
      services.emit('request-end', {
        requestId: this.requestId,
        kind: this.kind,
        ok: response !== undefined,
        ms,
        ...(response ? { response } : {}),
        ...(error ? { error } : {}),
      });
    }
    services.audit?.(
      {
        requestId: this.requestId,
        kind: this.kind,
        role: this.role,
        startedAt: this.startedAt,
        ms,
        request: this.request,
        attempts: this.attempts,
      },
      response,
      error,
    );
  }
}

function targetOf(link: Link): Target {
  return { provider: link.providerId, model: link.modelString };
}

function lastResortMark(link: Link): { lastResort?: true } {
  return link.lastResort ? { lastResort: true } : {};
}

/** An Ollama that cannot be reached will next need the model: say so now, so one message covers both steps. */
function withPullHint(link: Link, error: AttemptError): AttemptError {
  if (link.ref.kind !== 'ollama' || error.code !== 'CONNECTION_FAILED' || !error.fix) return error;
  return { ...error, fix: `${error.fix}; then \`ollama pull ${link.ref.model}\` if the model is not pulled yet` };
}
