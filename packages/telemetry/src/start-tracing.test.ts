import { context, propagation, trace } from '@opentelemetry/api';
import { ConfigError } from '@unity/config';
import { FakeOtlpCollector } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTracing } from './start-tracing';
import { type TracingConfig, tracingConfigSection } from './tracing-config';

let collector: FakeOtlpCollector;
beforeAll(async () => {
  collector = await FakeOtlpCollector.start();
});
afterAll(() => collector.close());
beforeEach(() => {
  collector.reset();
  collector.respondWith(200);
});

const settings = (values: Partial<TracingConfig> = {}): TracingConfig =>
  tracingConfigSection.parse({ enabled: true, endpoint: collector.url, ...values });

describe('startTracing', () => {
  it('does nothing when tracing is off: no tracer, no propagator, no context manager', async () => {
    expect(await startTracing(tracingConfigSection.parse({}))).toBeUndefined();
    expect(propagation.fields()).toEqual([]);
    const span = trace.getTracer('t').startSpan('x');
    expect(context.with(trace.setSpan(context.active(), span), () => trace.getActiveSpan())).toBeUndefined();
  });

  it('exports spans as OTLP JSON with the service name and version, and the configured headers', async () => {
    const tracing = await startTracing(
      settings({ service_name: 'unity-test', headers: { 'x-team': 'llm' }, headers_env: { authorization: 'AUTH' } }),
      { env: { AUTH: 'Bearer t0ken' }, serviceVersion: '9.9.9' },
    );
    if (!tracing) throw new Error('expected tracing to be on');
    try {
      tracing.tracer.startActiveSpan('outer', (outer) => {
        tracing.tracer.startSpan('inner').end();
        outer.end();
      });
      await tracing.flush();
    } finally {
      await tracing.shutdown();
    }
    const [sent] = collector.exports;
    expect(sent?.contentType).toMatch(/^application\/json/);
    expect(sent?.headers).toMatchObject({ 'x-team': 'llm', authorization: 'Bearer t0ken' });
    const [outer] = collector.named('outer');
    const [inner] = collector.named('inner');
    expect(outer).toMatchObject({ service: 'unity-test', scope: 'unity' });
    expect(inner?.parentSpanId).toBe(outer?.spanId);
    expect(inner?.traceId).toBe(outer?.traceId);
  });

  it('registers the W3C trace-context propagator while on, and releases it at shutdown', async () => {
    const tracing = await startTracing(settings());
    expect(propagation.fields()).toEqual(['traceparent', 'tracestate']);
    const incoming = propagation.extract(context.active(), {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(trace.getSpanContext(incoming)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    await tracing?.shutdown();
    await tracing?.shutdown();
    expect(propagation.fields()).toEqual([]);
  });

  it('samples no new trace at sample_ratio 0, yet follows a sampled caller', async () => {
    const tracing = await startTracing(settings({ sample_ratio: 0 }));
    if (!tracing) throw new Error('expected tracing to be on');
    try {
      tracing.tracer.startSpan('unsampled').end();
      const caller = propagation.extract(context.active(), {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });
      tracing.tracer.startSpan('continued', {}, caller).end();
      await tracing.flush();
    } finally {
      await tracing.shutdown();
    }
    expect(collector.spans().map((s) => s.name)).toEqual(['continued']);
    expect(collector.named('continued')[0]?.parentSpanId).toBe('b7ad6b7169203331');
  });

  it('tells onExportError when the collector refuses a batch', async () => {
    collector.respondWith(400);
    const errors: Error[] = [];
    const tracing = await startTracing(settings(), { onExportError: (error) => errors.push(error) });
    tracing?.tracer.startSpan('refused').end();
    await tracing?.shutdown();
    expect(errors).toHaveLength(1);
  });

  it('refuses a headers_env variable that is not set, naming the setting and the fix', async () => {
    const error = await startTracing(settings({ headers_env: { authorization: 'MISSING_TOKEN' } }), { env: {} }).catch(
      (caught: unknown) => caught,
    );
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).message).toMatch(/^tracing.headers_env.authorization: .*MISSING_TOKEN is not set/);
    expect((error as ConfigError).fix).toBe('set MISSING_TOKEN, or remove tracing.headers_env.authorization');
    expect(propagation.fields()).toEqual([]);
  });
});
