import { propagation } from '@opentelemetry/api';
import { type CollectedSpan, FakeOtlpCollector } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHarness } from './__tests__/test-harness';

let collector: FakeOtlpCollector;
beforeAll(async () => {
  collector = await FakeOtlpCollector.start();
});
afterAll(() => collector.close());
beforeEach(() => collector.reset());

const tracingYaml = () => `tracing:\n  enabled: true\n  endpoint: ${collector.url}\n  service_name: unity-gateway\n`;

const chat = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hello' }], ...body }),
  });

const childrenOf = (span: CollectedSpan | undefined) =>
  collector
    .spans()
    .filter((s) => span && s.parentSpanId === span.spanId)
    .sort((a, b) => a.startMs - b.startMs);

describe('gateway tracing', () => {
  it('traces a request that falls back from the failing cloud to the local model: HTTP span → router span → attempts', async () => {
    const h = await startHarness({ extraYaml: tracingYaml() });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    try {
      h.cloud.enqueue({ fault: 'status', status: 500 });
      h.local.enqueue({ text: 'from the local model', usage: { promptTokens: 9, completionTokens: 4 } });
      const response = await chat(h.url, { temperature: 0.2 }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      expect(response.status).toBe(200);
      await response.json();
    } finally {
      await h.close();
    }

    const [server] = collector.named('POST /v1/chat/completions');
    expect(server).toMatchObject({
      traceId,
      parentSpanId: '00f067aa0ba902b7',
      kind: 'server',
      service: 'unity-gateway',
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/v1/chat/completions',
        'url.path': '/v1/chat/completions',
        'http.response.status_code': 200,
      },
    });
    const [request] = childrenOf(server);
    expect(request).toMatchObject({
      traceId,
      name: 'chat MiniMax-M2',
      kind: 'client',
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'MiniMax-M2',
        'gen_ai.provider.name': 'ollama',
        'gen_ai.response.model': 'qwen2.5-coder:7b',
        'gen_ai.usage.input_tokens': 9,
        'gen_ai.usage.output_tokens': 4,
        'gen_ai.response.finish_reasons': ['stop'],
        'unity.router.fallbacks': 1,
      },
    });
    expect(childrenOf(request)).toMatchObject([
      {
        traceId,
        name: 'chat MiniMax-M2',
        status: { code: 'error' },
        attributes: { 'gen_ai.provider.name': 'openai', 'error.type': 'SERVER_ERROR' },
      },
      {
        traceId,
        name: 'chat qwen2.5-coder:7b',
        status: { code: 'unset' },
        attributes: { 'gen_ai.provider.name': 'ollama', 'unity.router.fallback.reason': 'SERVER_ERROR' },
      },
    ]);
  });

  it('keeps the router span under the HTTP span for a streamed answer', async () => {
    const h = await startHarness({ extraYaml: tracingYaml() });
    try {
      const response = await chat(h.url, { stream: true });
      expect(response.status).toBe(200);
      await response.text();
    } finally {
      await h.close();
    }
    const [server] = collector.named('POST /v1/chat/completions');
    expect(server?.parentSpanId).toBeUndefined();
    expect(childrenOf(server)).toMatchObject([
      { name: 'chat MiniMax-M2', attributes: { 'unity.router.kind': 'stream', 'gen_ai.provider.name': 'openai' } },
    ]);
  });

  it('with tracing off, creates no span and sends nothing, though the endpoint is set', async () => {
    const h = await startHarness({ extraYaml: `tracing:\n  enabled: false\n  endpoint: ${collector.url}\n` });
    try {
      h.cloud.enqueue({ fault: 'status', status: 500 });
      const response = await chat(
        h.url,
        {},
        { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      );
      expect(response.status).toBe(200);
      expect(propagation.fields()).toEqual([]);
    } finally {
      await h.close();
    }
    expect(collector.exports).toEqual([]);
  });
});
