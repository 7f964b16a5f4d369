import { randomUUID } from 'node:crypto';
import type { ChatRequest, Redactor } from '@unity/core';
import type { FastifyReply } from 'fastify';
import { cacheDirectives } from './cache-directives';
import type { ChatWire } from './chat-wire';
import { GatewayError, redactGatewayError } from './errors';
import type { EventBus } from './event-bus';
import type { GatewayAttempt, GatewayChatResponse, GatewayRouter, GatewayStreamEvent } from './gateway-router';
import type { InflightRequests } from './inflight';
import { recordServedUsage } from './keys/served-usage';
import type { GatewayMetrics } from './metrics';
import type { CatalogModel } from './model-catalog';
import { ResponseStream } from './response-stream';
import type { Serving, ServingContext } from './serving-context';
import { attemptsHeader, attemptsOf, toGatewayError } from './upstream-error';

export interface ExchangeDeps {
  router: GatewayRouter;
  metrics: GatewayMetrics;
  bus: EventBus;
  inflight: InflightRequests;
  serving: ServingContext;
  /** Redacts secrets (API keys, URL passwords) from every error sent to a client. */
  redactor: Redactor;
}

/** A header value Node accepts: printable ASCII only. */
const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '?');

/** Who served, as headers: x-unity-provider, x-unity-model (the model string), x-unity-attempts. */
function servedHeaders(served: { provider?: string; model?: string; attempts: readonly GatewayAttempt[] }) {
  const headers: Record<string, string> = {};
  if (served.provider) headers['x-unity-provider'] = headerSafe(served.provider);
  if (served.model) headers['x-unity-model'] = headerSafe(served.model);
  if (served.attempts.length > 0) headers['x-unity-attempts'] = headerSafe(attemptsHeader(served.attempts));
  return headers;
}

/** Who served a finished request: the successful attempt's model string (a cache hit has none: the answer's model). */
function servedByResponse(response: GatewayChatResponse) {
  const ok = response.attempts.find((a) => a.ok);
  return { provider: response.provider, model: ok?.model ?? response.model, attempts: response.attempts };
}

/** Who is serving a stream at its first token, from the router's events so far. */
function servedByStream(serving: Serving) {
  const current = serving.current;
  if (!current) return { attempts: serving.attempts };
  return {
    provider: current.provider,
    model: current.model,
    attempts: [...serving.attempts, { provider: current.provider, model: current.model, ok: true, ms: 0 }],
  };
}

interface Outcome {
  status: number;
  response?: GatewayChatResponse;
  attempts: GatewayAttempt[];
  ttftMs?: number;
  error?: GatewayError;
}

/**
 * Serve one chat request through the router in a given wire format: the whole answer as JSON, or a stream written
 * as it comes. Headers are sent when the first event arrives, so a failure before the commit point is still a proper
 * HTTP error; after it, the failure ends the stream with the protocol's error chunk. A client that goes away aborts
 * the router call (and so the upstream request).
 */
export class ChatExchange {
  private readonly id = randomUUID();
  private readonly startedAt = performance.now();
  private readonly controller: AbortController;
  private readonly done: () => void;

  constructor(
    private readonly deps: ExchangeDeps,
    private readonly reply: FastifyReply,
    private readonly wire: ChatWire,
    private readonly model: CatalogModel,
  ) {
    ({ controller: this.controller, done: this.done } = deps.inflight.begin());
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) this.controller.abort(new Error('the client disconnected'));
    });
    deps.metrics.requestStarted();
  }

  /** Serve `chat`; `samples` > 1 (OpenAI's `n`, not streamed) asks the router that many times, concurrently. */
  async run(chat: ChatRequest, stream: boolean, samples = 1): Promise<void> {
    this.deps.bus.publish('request.start', {
      id: this.id,
      endpoint: this.wire.endpoint,
      requestedModel: this.model.id,
      stream,
    });
    const request = {
      ...chat,
      ...this.model.route,
      ...cacheDirectives(this.reply.request),
      signal: this.controller.signal,
    };
    let outcome: Outcome;
    try {
      outcome = stream ? await this.stream(request) : await this.complete(request, samples);
    } catch (error) {
      // A bug on our side: the client still gets an answer rather than a hung connection.
      outcome = this.reply.raw.headersSent ? this.abandon(error) : this.fail(error);
    }
    this.finish(stream, outcome);
  }

  private async complete(request: Parameters<GatewayRouter['chat']>[0], samples: number): Promise<Outcome> {
    let response: GatewayChatResponse;
    let others: GatewayChatResponse[] = [];
    try {
      if (samples === 1) response = await this.deps.router.chat(request);
      else [response, ...others] = await this.sample(request, samples);
    } catch (error) {
      return this.fail(error);
    }
    const body = JSON.stringify(this.wire.completion(response, others));
    this.reply.raw.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': this.id,
      ...servedHeaders(servedByResponse(response)),
    });
    this.reply.raw.end(body);
    return { status: 200, response: withSummedUsage(response, others), attempts: response.attempts };
  }

  /**
   * `samples` answers to one prompt, each drawn anew (the response cache would repeat the first). The first failure
   * fails the request and cancels the other calls.
   */
  private async sample(request: Parameters<GatewayRouter['chat']>[0], samples: number) {
    const siblings = new AbortController();
    const signal = AbortSignal.any([this.controller.signal, siblings.signal]);
    const calls = Array.from({ length: samples }, () => this.deps.router.chat({ ...request, cache: false, signal }));
    try {
      return (await Promise.all(calls)) as [GatewayChatResponse, ...GatewayChatResponse[]];
    } catch (error) {
      siblings.abort(new Error('another sample of the request failed'));
      await Promise.allSettled(calls);
      throw error;
    }
  }

  private async stream(request: Parameters<GatewayRouter['stream']>[0]): Promise<Outcome> {
    const serving: Serving = { attempts: [] };
    const iterator = this.deps.serving.run(serving, () => this.deps.router.stream(request)[Symbol.asyncIterator]());
    const pull = () => this.deps.serving.run(serving, () => iterator.next());
    const out = new ResponseStream(this.reply.raw);
    let outcome: Outcome | undefined;
    try {
      let next: IteratorResult<GatewayStreamEvent>;
      try {
        next = await pull();
      } catch (error) {
        return this.fail(error);
      }
      if (!next.done && next.value.type === 'error') return this.fail(next.value.error);
      const ttftMs = performance.now() - this.startedAt;
      const served =
        !next.done && next.value.type === 'finish' ? servedByResponse(next.value.response) : servedByStream(serving);
      out.start(200, {
        'content-type': this.wire.streamContentType,
        'cache-control': 'no-cache',
        'x-request-id': this.id,
        ...servedHeaders(served),
      });
      if (this.wire.streamStart) await out.write(this.wire.streamStart());
      for (;;) {
        if (next.done) {
          // The router promised a `finish` or an `error`: an end without either is a failure, said as one.
          const error = new GatewayError({
            code: 'UPSTREAM_FAILED',
            status: 502,
            message: 'the model stream ended without finishing',
          });
          out.end(this.wire.streamError(error));
          return { status: 200, attempts: served.attempts, ttftMs, error };
        }
        const event = next.value;
        if (event.type === 'error') {
          const error = this.reasonOr(event.error);
          out.end(this.wire.streamError(error));
          return { status: 200, attempts: attemptsOf(event.error), ttftMs, error };
        }
        if (event.type === 'finish') {
          out.end(this.wire.streamEvent(event));
          outcome = { status: 200, response: event.response, attempts: event.response.attempts, ttftMs };
          return outcome;
        }
        const text = this.wire.streamEvent(event);
        if (text !== '') await out.write(text);
        if (out.clientGone) return { status: 499, attempts: served.attempts, ttftMs };
        try {
          next = await pull();
        } catch (error) {
          if (out.clientGone) return { status: 499, attempts: served.attempts, ttftMs };
          next = { done: false, value: { type: 'error', error } };
        }
      }
    } finally {
      if (!outcome) await iterator.return?.().catch(() => undefined);
    }
  }

  /** The gateway's own reason when it cancelled the request (shutdown), else the failure itself. */
  private reasonOr(error: unknown): GatewayError {
    const reason: unknown = this.controller.signal.aborted ? this.controller.signal.reason : undefined;
    return redactGatewayError(GatewayError.isInstance(reason) ? reason : toGatewayError(error), this.deps.redactor);
  }

  /** A failure before anything was sent: the protocol's error body with the right status. */
  private fail(error: unknown): Outcome {
    const attempts = attemptsOf(error);
    if (this.controller.signal.aborted && !GatewayError.isInstance(this.controller.signal.reason)) {
      return { status: 499, attempts };
    }
    const gatewayError = this.reasonOr(error);
    const body = JSON.stringify(this.wire.errorBody(gatewayError));
    this.reply.raw.writeHead(gatewayError.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': this.id,
      ...servedHeaders({ attempts }),
    });
    this.reply.raw.end(body);
    return { status: gatewayError.status, attempts, error: gatewayError };
  }

  /** End a response already under way after an unexpected failure, without a clean end. */
  private abandon(error: unknown): Outcome {
    this.reply.raw.destroy();
    return { status: 500, attempts: attemptsOf(error), error: toGatewayError(error) };
  }

  private finish(stream: boolean, outcome: Outcome): void {
    this.done();
    const ms = performance.now() - this.startedAt;
    const response = outcome.response;
    const attempts = outcome.attempts;
    recordServedUsage(this.reply.raw, {
      model: attempts.find((a) => a.ok)?.model ?? response?.model,
      inputTokens: response?.usage.inputTokens ?? 0,
      outputTokens: response?.usage.outputTokens ?? 0,
    });
    const provider = response?.provider ?? 'none';
    const fallback = response !== undefined && attempts.length > 0 && attempts[0]?.provider !== response.provider;
    this.deps.metrics.requestFinished({
      endpoint: this.wire.endpoint,
      status: outcome.status,
      stream,
      provider,
      ms,
      ...(outcome.ttftMs !== undefined ? { ttftMs: outcome.ttftMs } : {}),
      inputTokens: response?.usage.inputTokens ?? 0,
      outputTokens: response?.usage.outputTokens ?? 0,
      fallback,
      cached: response?.cached === true,
    });
    this.deps.bus.publish('request.end', {
      id: this.id,
      endpoint: this.wire.endpoint,
      requestedModel: this.model.id,
      stream,
      status: outcome.status,
      provider,
      model: response?.model ?? null,
      ms: Math.round(ms * 100) / 100,
      ttftMs: outcome.ttftMs === undefined ? null : Math.round(outcome.ttftMs * 100) / 100,
      usage: response?.usage ?? null,
      attempts,
      fallback,
      error: outcome.error ? { code: outcome.error.code, message: outcome.error.message } : null,
    });
  }
}

/** The first answer with the tokens of every sample, for metrics and events. */
function withSummedUsage(first: GatewayChatResponse, others: readonly GatewayChatResponse[]): GatewayChatResponse {
  if (others.length === 0) return first;
  const outputTokens = others.reduce((sum, r) => sum + r.usage.outputTokens, first.usage.outputTokens);
  const inputTokens = others.reduce((sum, r) => sum + r.usage.inputTokens, first.usage.inputTokens);
  return { ...first, usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens } };
}
