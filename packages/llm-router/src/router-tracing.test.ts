import { type Tracer, trace } from '@opentelemetry/api';
import { startTracing, type Tracing, tracingConfigSection } from '@unity/telemetry';
import { type CollectedSpan, FakeOtlpCollector } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ask, type ConfigPatch, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import type { Router } from './router';
import type { RouterEventName } from './router-events';
import { traceRouter } from './router-tracing';

const bed = useRouterTestBed();
const { fakes } = bed;
let collector: FakeOtlpCollector;
let tracing: Tracing;
let tracer: Tracer;

beforeAll(async () => {
  collector = await FakeOtlpCollector.start();
  const started = await startTracing(tracingConfigSection.parse({ enabled: true, endpoint: collector.url }));
  if (!started) throw new Error('expected tracing to be on');
  tracing = started;
  tracer = started.tracer;
});
afterAll(async () => {
  await tracing.shutdown();
  await collector.close();
});
beforeEach(() => collector.reset());

function use(patch: ConfigPatch = {}, env?: Record<string, string>): Router {
  return bed.use(routerFor(fakeConfig(fakes, patch), env ? { env } : {}));
}

/** Run `call` inside a `caller` span, then export: the caller's span and the spans under it, by name. */
async function traced(router: Router, call: () => Promise<unknown>) {
  const stop = traceRouter(router, tracer);
  try {
    await tracer.startActiveSpan('caller', async (span) => {
      await call().catch(() => undefined);
      span.end();
    });
  } finally {
    stop();
  }
  await tracing.flush();
  const spans = collector.spans();
  const caller = spans.find((s) => s.name === 'caller') as CollectedSpan;
  const request = spans.find((s) => s.parentSpanId === caller.spanId) as CollectedSpan;
  const attempts = spans.filter((s) => s.parentSpanId === request?.spanId).sort((a, b) => a.startMs - b.startMs);
  return { caller, request, attempts };
}

describe('traceRouter', () => {
  it('traces a fallback: the request span under the caller, one span per provider call with GenAI attributes', async () => {
    const router = use();
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    fakes.ollama.enqueue({ text: 'local answer', usage: { promptTokens: 12, completionTokens: 3 } });
    const { caller, request, attempts } = await traced(router, () => router.chat(ask('hello')));

    expect(request).toMatchObject({
      traceId: caller.traceId,
      name: 'chat MiniMax-M2',
      kind: 'client',
      status: { code: 'unset' },
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'MiniMax-M2',
        'gen_ai.provider.name': 'ollama',
        'gen_ai.response.model': 'qwen2.5-coder:7b',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 3,
        'gen_ai.response.finish_reasons': ['stop'],
        'unity.router.attempts': 2,
        'unity.router.fallbacks': 1,
        'unity.router.model': 'ollama_chat/qwen2.5-coder:7b',
      },
    });
    expect(attempts).toMatchObject([
      {
        name: 'chat MiniMax-M2',
        kind: 'client',
        status: { code: 'error' },
        attributes: {
          'gen_ai.provider.name': 'minimax',
          'gen_ai.request.model': 'MiniMax-M2',
          'unity.router.try': 1,
          'error.type': 'SERVER_ERROR',
        },
      },
      {
        name: 'chat qwen2.5-coder:7b',
        kind: 'client',
        status: { code: 'unset' },
        attributes: {
          'gen_ai.provider.name': 'ollama',
          'unity.router.fallback.from': 'minimax/MiniMax-M2',
          'unity.router.fallback.reason': 'SERVER_ERROR',
        },
      },
    ]);
    for (const attempt of attempts) {
      expect(attempt.startMs).toBeGreaterThanOrEqual(request.startMs - 1);
      expect(attempt.endMs).toBeLessThanOrEqual(request.endMs + 1);
    }
  });

  it('shows a retry as a second try of the same model, with the delay and the reason', async () => {
    const router = use({ router: { retries: { max_retries: 1 } } });
    fakes.cloud.enqueue({ fault: 'status', status: 502 });
    const { request, attempts } = await traced(router, () => router.chat(ask('again')));
    expect(request.attributes).toMatchObject({ 'unity.router.retries': 1, 'gen_ai.provider.name': 'minimax' });
    expect(attempts.map((a) => [a.attributes['unity.router.try'], a.status.code])).toEqual([
      [1, 'error'],
      [2, 'unset'],
    ]);
    expect(attempts[1]?.attributes).toMatchObject({ 'unity.router.retry.reason': 'SERVER_ERROR' });
    expect(attempts[1]?.attributes['unity.router.retry.delay_ms']).toBeTypeOf('number');
  });

  it('shows a model skipped without a call as an internal span with its reason', async () => {
    const router = use({}, {});
    const { request, attempts } = await traced(router, () => router.chat(ask('no key')));
    expect(request.attributes).toMatchObject({ 'unity.router.skipped': 1, 'unity.router.attempts': 1 });
    expect(attempts[0]).toMatchObject({
      kind: 'internal',
      status: { code: 'error' },
      attributes: { 'unity.router.skipped': true, 'gen_ai.provider.name': 'minimax' },
    });
    expect(attempts[0]?.attributes['error.type']).toBeTypeOf('string');
    expect(attempts[1]).toMatchObject({ kind: 'client', status: { code: 'unset' } });
  });

  it('marks the request span as failed with the router error when every model fails', async () => {
    const router = use({ cloud_llm: { fallback_to_local: false } });
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    const { request, attempts } = await traced(router, () => router.chat(ask('doomed')));
    expect(request.status.code).toBe('error');
    expect(request.attributes['error.type']).toBe('ALL_PROVIDERS_FAILED');
    expect(attempts).toHaveLength(1);
  });

  it('traces a stream the same way, as kind stream', async () => {
    const router = use();
    const { request } = await traced(router, async () => {
      for await (const _event of router.stream(ask('stream it'))) {
        // drain
      }
    });
    expect(request.attributes).toMatchObject({ 'unity.router.kind': 'stream', 'gen_ai.provider.name': 'minimax' });
  });

  it('names the requested model and its options on the request span, from the start of the call', async () => {
    const router = use();
    const started = Date.now();
    const { request } = await traced(router, () =>
      router.chat({
        ...ask('options'),
        model: 'ollama_chat/qwen2.5-coder:7b',
        temperature: 0.2,
        maxOutputTokens: 64,
        topP: 0.9,
        stop: ['END'],
      }),
    );
    expect(request.name).toBe('chat qwen2.5-coder:7b');
    expect(request.attributes).toMatchObject({
      'gen_ai.request.model': 'qwen2.5-coder:7b',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.stop_sequences': ['END'],
      'unity.router.role': 'reasoning',
    });
    expect(request.startMs).toBeGreaterThanOrEqual(started - 1);
  });

  it('ends an attempt the caller aborted with its own span, marked with the abort', async () => {
    const router = use();
    fakes.cloud.enqueue({ fault: 'hang' });
    const controller = new AbortController();
    const { request, attempts } = await traced(router, async () => {
      const call = router.chat({ ...ask('abort me'), signal: controller.signal }).catch(() => undefined);
      setTimeout(() => controller.abort(), 50);
      await call;
    });
    expect(request.attributes).toMatchObject({ 'error.type': 'ABORTED' });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.status.code).toBe('error');
    expect(attempts[0]?.attributes['unity.router.try']).toBe(1);
  });

  it('registers nothing without a tracer, and removes its listeners when stopped', () => {
    const router = use();
    const events: RouterEventName[] = [
      'attempt-start',
      'attempt',
      'retry',
      'fallback',
      'cache-hit',
      'last-resort',
      'compacted',
      'request-end',
    ];
    const listeners = () => events.map((name) => router.listenerCount(name));
    const before = listeners();
    expect(before.every((n) => n === 0)).toBe(true);
    const noop = traceRouter(router, undefined);
    expect(listeners()).toEqual(before);
    noop();
    const stop = traceRouter(router, tracer);
    expect(listeners()).toEqual(before.map((n) => n + 1));
    stop();
    expect(listeners()).toEqual(before);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
