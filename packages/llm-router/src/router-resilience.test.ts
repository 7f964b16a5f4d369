import { describe, expect, it } from 'vitest';
import { ask, type ConfigPatch, collect, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import type { BreakerChange } from './circuit-breaker';
import { RouterError } from './errors';
import type { Router, RouterOptions } from './router';
import type { RouterEventMap } from './router-events';

const bed = useRouterTestBed();
const { fakes } = bed;

function use(patch: ConfigPatch = {}, options: Partial<RouterOptions> = {}): Router {
  return bed.use(routerFor(fakeConfig(fakes, patch), options));
}

const cloudChats = () => fakes.cloud.requestsTo('/chat/completions');
const cloudOnly: ConfigPatch = { cloud_llm: { fallback_to_local: false } };

describe('retries', () => {
  it('retries a transient failure on the same provider with backoff, and says so in an event', async () => {
    const r = use({ router: { retries: { max_retries: 2 } } });
    const retries: RouterEventMap['retry'][0][] = [];
    r.on('retry', (e) => retries.push(e));
    fakes.cloud.enqueue({ fault: 'status', status: 502 });
    const response = await r.chat(ask('again'));
    expect(response.provider).toBe('minimax');
    expect(response.attempts.map((a) => a.ok)).toEqual([false, true]);
    expect(retries).toMatchObject([{ provider: 'minimax', try: 2, error: { code: 'SERVER_ERROR' } }]);
    expect(retries[0]?.delayMs).toBeLessThanOrEqual(5);
  });

  it('waits exactly the Retry-After when no other provider can serve', async () => {
    const r = use({ ...cloudOnly, router: { retries: { max_retries: 1 } } });
    const delays: number[] = [];
    r.on('retry', (e) => delays.push(e.delayMs));
    fakes.cloud.enqueue({ fault: 'status', status: 429, retryAfter: 0.05 });
    const response = await r.chat(ask('patience'));
    expect(response.provider).toBe('minimax');
    expect(delays).toEqual([50]);
    expect(cloudChats()).toHaveLength(2);
  });

  it('does not wait a Retry-After longer than the cap', async () => {
    const r = use({ ...cloudOnly, router: { retries: { max_retries: 3, retry_after_cap_seconds: 1 } } });
    fakes.cloud.enqueue({ fault: 'status', status: 503, retryAfter: 120 });
    const error = await r.chat(ask('later')).catch((e) => e);
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(cloudChats()).toHaveLength(1);
  });

  it('gives up on a provider after max_retries and falls back', async () => {
    const r = use({ router: { retries: { max_retries: 2 } } });
    fakes.cloud.enqueue(
      { fault: 'status', status: 500 },
      { fault: 'status', status: 500 },
      { fault: 'status', status: 500 },
    );
    const response = await r.chat(ask('persist'));
    expect(response.attempts.map((a) => `${a.provider}:${a.ok}`)).toEqual([
      'minimax:false',
      'minimax:false',
      'minimax:false',
      'ollama:true',
    ]);
  });

  it('moves on at once from a refused connection when another provider can serve', async () => {
    const r = use({ router: { retries: { max_retries: 3 } } });
    await fakes.cloud.refuse();
    const response = await r.chat(ask('who is there')).finally(() => fakes.cloud.accept());
    expect(response.provider).toBe('ollama');
    expect(response.attempts.map((a) => `${a.provider}:${a.error?.code ?? 'ok'}`)).toEqual([
      'minimax:CONNECTION_FAILED',
      'ollama:ok',
    ]);
  });
});

describe('rate limits with another provider available', () => {
  it('moves on from a 429 with Retry-After at once and cools the limited provider for that long', async () => {
    let clock = 1_000_000;
    const r = use({ router: { retries: { max_retries: 3 } } }, { now: () => clock });
    const changes: BreakerChange[] = [];
    r.on('breaker', (c) => changes.push(c));
    fakes.cloud.enqueue({ fault: 'status', status: 429, retryAfter: 20 });

    const first = await r.chat(ask('one'));
    expect(first.provider).toBe('ollama');
    expect(cloudChats()).toHaveLength(1);
    expect(changes).toEqual([
      { provider: 'minimax', from: 'closed', to: 'open', reason: 'retry-after', until: clock + 20_000 },
    ]);

    const second = await r.chat(ask('two'));
    expect(second.provider).toBe('ollama');
    expect(second.attempts[0]).toMatchObject({ provider: 'minimax', skipped: true, error: { code: 'CIRCUIT_OPEN' } });
    expect(cloudChats()).toHaveLength(1);

    clock += 20_000;
    const third = await r.chat(ask('three'));
    expect(third.provider).toBe('minimax');
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open', 'closed']);
  });

  it('does the same for a 503 with Retry-After', async () => {
    const r = use({ router: { retries: { max_retries: 3 } } });
    fakes.cloud.enqueue({ fault: 'status', status: 503, retryAfter: 60 });
    const response = await r.chat(ask('busy'));
    expect(response.provider).toBe('ollama');
    expect(cloudChats()).toHaveLength(1);
    expect(r.breakerStates()).toMatchObject({ minimax: 'open' });
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, skips the provider at zero cost, probes once after the cooldown, and closes', async () => {
    let clock = 0;
    const r = use({ router: { breaker: { failure_threshold: 2, cooldown_seconds: 30 } } }, { now: () => clock });
    const changes: string[] = [];
    const probes: boolean[] = [];
    r.on('breaker', (c) => changes.push(`${c.from}->${c.to}:${c.reason}`));
    r.on('attempt-start', (e) => e.provider === 'minimax' && probes.push(e.probe));
    fakes.cloud.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 500 });
    await r.chat(ask('1'));
    await r.chat(ask('2'));
    expect(changes).toEqual(['closed->open:failures']);

    const skipped = await r.chat(ask('3'));
    expect(skipped.attempts[0]).toMatchObject({ skipped: true, ms: 0, error: { code: 'CIRCUIT_OPEN' } });
    expect(cloudChats()).toHaveLength(2);

    clock += 30_000;
    const probed = await r.chat(ask('4'));
    expect(probed.provider).toBe('minimax');
    expect(probes).toEqual([false, false, true]);
    expect(changes).toEqual(['closed->open:failures', 'open->half-open:probe', 'half-open->closed:probe-succeeded']);
  });

  it('re-opens when the probe fails', async () => {
    let clock = 0;
    const r = use({ router: { breaker: { failure_threshold: 1, cooldown_seconds: 10 } } }, { now: () => clock });
    fakes.cloud.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 502 });
    await r.chat(ask('1'));
    clock += 10_000;
    const response = await r.chat(ask('probe'));
    expect(response.provider).toBe('ollama');
    expect(r.breakerStates().minimax).toBe('open');
    await r.chat(ask('still open'));
    expect(cloudChats()).toHaveLength(2);
  });

  it('lets exactly one of several concurrent requests probe a half-open provider', async () => {
    let clock = 0;
    const r = use({ router: { breaker: { failure_threshold: 1, cooldown_seconds: 10 } } }, { now: () => clock });
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    await r.chat(ask('open it'));
    clock += 10_000;
    fakes.cloud.enqueue({ fault: 'slow-first-byte', ms: 200, reply: { text: 'probe answer' } });
    const responses = await Promise.all([1, 2, 3, 4].map((n) => r.chat(ask(`c${n}`))));
    expect(cloudChats()).toHaveLength(2);
    expect(responses.filter((x) => x.provider === 'minimax')).toHaveLength(1);
    expect(responses.filter((x) => x.provider === 'ollama')).toHaveLength(3);
  });

  it('gives the probe back when the consumer stops its stream mid-answer, so the next request can probe', async () => {
    let clock = 0;
    const r = use({ router: { breaker: { failure_threshold: 1, cooldown_seconds: 10 } } }, { now: () => clock });
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    await r.chat(ask('open it'));
    clock += 10_000;
    fakes.cloud.enqueue({ text: 'one two three four', chunkDelayMs: 50 });
    for await (const event of r.stream(ask('probe, then stop reading'))) if (event.type === 'text-delta') break;
    const next = await r.chat(ask('after'));
    expect(next.provider).toBe('minimax');
    expect(r.breakerStates().minimax).toBe('closed');
  });
});

describe('cancellation and deadlines', () => {
  it('cancels the upstream request and throws ABORTED when the caller aborts mid-stream', async () => {
    const r = use();
    fakes.cloud.enqueue({ text: 'one two three four five six', chunkDelayMs: 100 });
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await (async () => {
      for await (const event of r.stream({ ...ask('long'), signal: controller.signal })) {
        if (event.type === 'text-delta') {
          seen.push(event.text);
          controller.abort();
        }
      }
    })().catch((e) => e);
    expect(RouterError.isInstance(error)).toBe(true);
    expect(error.code).toBe('ABORTED');
    expect(seen).toEqual(['one ']);
    await expect.poll(() => cloudChats()[0]?.aborted).toBe(true);
    expect(fakes.ollama.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('cancels the upstream request when the consumer stops reading', async () => {
    const r = use();
    fakes.cloud.enqueue({ text: 'one two three four five six', chunkDelayMs: 100 });
    for await (const event of r.stream(ask('stop early'))) {
      if (event.type === 'text-delta') break;
    }
    await expect.poll(() => cloudChats()[0]?.aborted).toBe(true);
  });

  it('cancels a pending chat and does not fall back when the caller aborts', async () => {
    const r = use();
    fakes.cloud.enqueue({ fault: 'hang' });
    const controller = new AbortController();
    const pending = r.chat({ ...ask('wait'), signal: controller.signal });
    await fakes.cloud.waitForRequests(1);
    controller.abort(new Error('user pressed ctrl-c'));
    const error = await pending.catch((e) => e);
    expect(error.code).toBe('ABORTED');
    await expect.poll(() => cloudChats()[0]?.aborted).toBe(true);
    expect(fakes.ollama.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('ends the whole request at its deadline, naming it', async () => {
    const r = use({ ...cloudOnly, router: { retries: { max_retries: 5, initial_delay_ms: 50, max_delay_ms: 100 } } });
    fakes.cloud.enqueue(...Array.from({ length: 20 }, () => ({ fault: 'status' as const, status: 500 })));
    const error = await r.chat({ ...ask('deadline'), deadlineMs: 150 }).catch((e) => e);
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toContain('deadlineMs = 150');
  });

  it('streams nothing and throws every attempt when all fail before the first token', async () => {
    const r = use(cloudOnly);
    fakes.cloud.enqueue({ fault: 'cut-before-first-token' });
    const { events, thrown } = await collect(r.stream(ask('nothing')));
    expect(events).toEqual([]);
    expect(RouterError.isInstance(thrown)).toBe(true);
    expect((thrown as RouterError).attempts).toMatchObject([{ provider: 'minimax', ok: false }]);
  });
});
