import OpenAI from 'openai';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import type { BusEvent } from './event-bus';

let h: Harness;
let client: OpenAI;

beforeAll(async () => {
  h = await startHarness({
    routerYaml: ['  breaker:', '    failure_threshold: 1', '  cache:', '    enabled: true'].join('\n'),
  });
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
});
afterAll(() => h.close());

const ask = (content: string) => [{ role: 'user' as const, content }];

/** A WebSocket client of /ws that collects every event. */
async function listen(): Promise<{
  events: BusEvent[];
  socket: WebSocket;
  waitFor(p: (e: BusEvent) => boolean): Promise<BusEvent>;
}> {
  const events: BusEvent[] = [];
  const waiters: Array<{ p: (e: BusEvent) => boolean; resolve: (e: BusEvent) => void }> = [];
  const socket = new WebSocket(`${h.url.replace('http', 'ws')}/ws`);
  socket.onmessage = (m) => {
    const event = JSON.parse(String(m.data)) as BusEvent;
    events.push(event);
    for (const w of waiters.splice(0)) {
      if (w.p(event)) w.resolve(event);
      else waiters.push(w);
    }
  };
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error('no WebSocket'));
  });
  return {
    events,
    socket,
    waitFor: (p) =>
      new Promise((resolve) => {
        const found = events.find(p);
        if (found) resolve(found);
        else waiters.push({ p, resolve });
      }),
  };
}

describe('telemetry', () => {
  it('reports alive on /healthz and ready on /readyz', async () => {
    expect(((await (await fetch(`${h.url}/healthz`)).json()) as { status: string }).status).toBe('ok');
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe('ready');
  });

  it('streams each request with its attempts and who served it on /ws', async () => {
    const feed = await listen();
    try {
      h.cloud.enqueue({ text: 'watched answer' });
      await client.chat.completions.create({ model: 'coding', messages: ask('watch me') });
      const end = await feed.waitFor((e) => e.type === 'request.end' && e.requestedModel === 'coding');
      expect(end).toMatchObject({ endpoint: 'openai.chat', status: 200, provider: 'openai', stream: false });
      expect((end.attempts as { model: string; ok: boolean }[])[0]).toMatchObject({
        model: 'openai/MiniMax-M2',
        ok: true,
      });
      expect(feed.events.some((e) => e.type === 'request.start' && e.id === end.id)).toBe(true);
    } finally {
      feed.socket.close();
    }
  });

  it('rebroadcasts a client.* event a client publishes, stamped with the server time instead of its own', async () => {
    const publisher = await listen();
    const watcher = await listen();
    try {
      const before = Date.now();
      publisher.socket.send(
        JSON.stringify({ type: 'client.textgrad.generation', ts: 1, runId: 'r1', generation: 3, bestScore: 0.75 }),
      );
      const seen = await watcher.waitFor((e) => e.type === 'client.textgrad.generation');
      expect(seen).toMatchObject({ runId: 'r1', generation: 3, bestScore: 0.75 });
      expect(seen.ts).toBeGreaterThanOrEqual(before);
    } finally {
      publisher.socket.close();
      watcher.socket.close();
    }
  });

  it('refuses a client-published request.end, which therefore never appears in /audit', async () => {
    const publisher = await listen();
    try {
      const forged = { type: 'request.end', id: 'forged-1', provider: 'openai', status: 200, ts: 0 };
      publisher.socket.send(JSON.stringify(forged));
      const refusal = await publisher.waitFor((e) => e.type === 'error');
      expect(refusal.message).toBe('type: clients may only publish "client.<name>" events, not "request.end"');
      const audit = (await (await fetch(`${h.url}/audit?limit=500`)).json()) as { requests: BusEvent[] };
      expect(audit.requests.some((r) => r.id === 'forged-1')).toBe(false);
      expect(publisher.events.some((e) => e.id === 'forged-1')).toBe(false);
    } finally {
      publisher.socket.close();
    }
  });

  it('closes a /ws connection that sends a message over the size cap (1009)', async () => {
    const publisher = await listen();
    const closed = new Promise<{ code: number }>((resolve) => {
      publisher.socket.onclose = (e) => resolve({ code: e.code });
    });
    publisher.socket.send(JSON.stringify({ type: 'client.big', blob: 'x'.repeat(70 * 1024) }));
    expect((await closed).code).toBe(1009);
  });

  it('closes a /ws connection that floods past the rate limit, saying why (1008)', async () => {
    const publisher = await listen();
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      publisher.socket.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    });
    for (let i = 0; i < 100; i++) publisher.socket.send(JSON.stringify({ type: 'client.flood', i }));
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toBe('rate limit: more than 20 messages a second (server.ws_messages_per_second)');
  });

  it('keeps client events out of the server events that /audit and the backlog are built from', async () => {
    const publisher = await listen();
    try {
      publisher.socket.send(JSON.stringify({ type: 'client.breaker', provider: 'openai', to: 'open' }));
      await publisher.waitFor((e) => e.type === 'client.breaker');
      expect(h.server.gateway.bus.recent().some((e) => e.type === 'client.breaker')).toBe(false);
      expect(h.server.gateway.bus.recentClient().some((e) => e.type === 'client.breaker')).toBe(true);
    } finally {
      publisher.socket.close();
    }
  });

  it('exports requests, latency, first-token time, fallbacks, breaker states, tokens and cache hits as Prometheus text', async () => {
    const feed = await listen();
    try {
      h.cloud.enqueue({ fault: 'status', status: 500 });
      h.local.enqueue({ text: 'fell back' });
      const stream = await client.chat.completions.create({
        model: 'unity',
        messages: ask('fallback please'),
        stream: true,
      });
      for await (const _ of stream) {
        // drain
      }
      await feed.waitFor((e) => e.type === 'router.breaker' && e.provider === 'openai');
      await client.chat.completions.create({ model: 'local', messages: ask('cache me') });
      await client.chat.completions.create({ model: 'local', messages: ask('cache me') });
    } finally {
      feed.socket.close();
    }
    const r = await fetch(`${h.url}/metrics`);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    expect(text).toMatch(
      /unity_gateway_requests_total\{endpoint="openai.chat",status="200",provider="ollama",stream="true"\} 1/,
    );
    expect(text).toMatch(
      /unity_gateway_request_duration_seconds_bucket\{le="\+Inf",endpoint="openai.chat",provider="ollama",stream="true"\} 1/,
    );
    expect(text).toMatch(
      /unity_gateway_time_to_first_token_seconds_count\{endpoint="openai.chat",provider="ollama"\} 1/,
    );
    expect(text).toMatch(/unity_gateway_fallbacks_total\{provider="ollama"\} 1/);
    expect(text).toMatch(/unity_router_breaker_state\{provider="openai"\} 2/);
    // The harness serves a local model too: its breaker is exported as closed before it ever changes.
    expect(text).toMatch(/unity_router_breaker_state\{provider="ollama"\} 0/);
    expect(text).toMatch(/unity_gateway_tokens_total\{provider="ollama",kind="output"\} \d+/);
    expect(text).toMatch(/unity_router_cache_hits_total 1/);
  });

  it('answers 503 when every provider is skipped without a request (breakers open)', async () => {
    h.local.enqueue({ fault: 'status', status: 500 });
    const failed = await client.chat.completions.create({ model: 'local', messages: ask('break it') }).catch((e) => e);
    expect(failed.status).toBe(502);
    const skipped = await client.chat.completions.create({ model: 'local', messages: ask('again') }).catch((e) => e);
    expect(skipped.status).toBe(503);
    expect(skipped.headers.get('x-unity-attempts')).toBe('ollama_chat/qwen2.5-coder:7b CIRCUIT_OPEN');
  });

  it('lists the last requests and who served them on /audit', async () => {
    const body = (await (await fetch(`${h.url}/audit?limit=2`)).json()) as { requests: BusEvent[] };
    expect(body.requests).toHaveLength(2);
    expect(body.requests.every((r) => r.type === 'request.end' && typeof r.provider === 'string')).toBe(true);
  });
});

describe('health monitoring', () => {
  it('streams health changes on /ws and turns /readyz unavailable when every provider is down', async () => {
    const monitored = await startHarness({ server: { health_interval_seconds: 0.2 } });
    try {
      const feed = await (async () => {
        const events: BusEvent[] = [];
        const socket = new WebSocket(`${monitored.url.replace('http', 'ws')}/ws`);
        socket.onmessage = (m) => events.push(JSON.parse(String(m.data)) as BusEvent);
        await new Promise<void>((resolve) => {
          socket.onopen = () => resolve();
        });
        return { events, socket };
      })();
      const until = async (condition: () => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!condition()) {
          if (Date.now() > deadline) throw new Error('timed out');
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until(() =>
        feed.events.some((e) => e.type === 'health.change' && e.provider === 'ollama' && e.status === 'ok'),
      );
      const ready = (await (await fetch(`${monitored.url}/readyz`)).json()) as {
        providers: Record<string, { available: boolean; detail: string }>;
      };
      expect(ready.providers.ollama).toEqual({ available: true, detail: 'healthy' });

      await monitored.local.refuse();
      await monitored.cloud.refuse();
      await until(() =>
        feed.events.some((e) => e.type === 'health.change' && e.provider === 'ollama' && e.status === 'fail'),
      );
      await until(() => monitored.server.health?.isUp('openai') === false);
      const down = await fetch(`${monitored.url}/readyz`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { status: string; providers: Record<string, { detail: string }> };
      expect(body.status).toBe('unavailable');
      expect(body.providers.ollama?.detail).toMatch(/^health check: /);
      feed.socket.close();
    } finally {
      await monitored.close();
    }
  });
});

describe('a keyless OpenAI-compatible upstream (vLLM, LM Studio, llama.cpp server)', () => {
  it('is healthy without a key and serves requests, with nothing sent as a key', async () => {
    const keyless = await startHarness({
      server: { health_interval_seconds: 0.2 },
      env: { TEST_CLOUD_KEY: undefined },
    });
    try {
      const deadline = Date.now() + 10_000;
      while (keyless.server.health?.isUp('openai') !== true) {
        if (Date.now() > deadline) throw new Error('the keyless upstream never became healthy');
        await new Promise((r) => setTimeout(r, 20));
      }
      const ready = (await (await fetch(`${keyless.url}/readyz`)).json()) as {
        providers: Record<string, { available: boolean }>;
      };
      expect(ready.providers.openai?.available).toBe(true);
      const response = await fetch(`${keyless.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.headers.get('x-unity-provider')).toBe('openai');
      const chats = keyless.cloud.requestsTo('/chat/completions');
      expect(chats).toHaveLength(1);
      expect(chats[0]?.headers.authorization).toBeUndefined();
    } finally {
      await keyless.close();
    }
  });
});
