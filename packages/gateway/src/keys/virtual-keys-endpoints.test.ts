import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../__tests__/test-harness';

const master = 'master-key-for-tests';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A clock the test moves; starts on a Monday at 10:00:30 UTC (mid-window). */
function testClock() {
  let now = Date.UTC(2026, 11, 7, 10, 0, 30);
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const prices = "{'openai/MiniMax-M2': {input_per_mtok: 1000, output_per_mtok: 2000}}";

async function start(options: { clock?: () => number; server?: Record<string, string | number> } = {}) {
  h = await startHarness({
    server: { api_key: master, prices, ...options.server },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return h;
}

async function admin(path: string, init: { method?: string; body?: unknown; key?: string } = {}) {
  const response = await fetch(`${h?.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${init.key ?? master}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: bodies of several shapes, each checked by the assertions
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function createKey(body: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const created = await admin('/admin/keys', { body });
  expect(created.status).toBe(201);
  return created.body;
}

function chat(key: string, body: Record<string, unknown> = {}) {
  return fetch(`${h?.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, ...body }),
  });
}

/** The fake cloud's answer "ok", counted as 10 input and 1 output tokens: $0.012 at the test prices. */
const tenAndOne = { text: 'ok', usage: { promptTokens: 10, completionTokens: 1 } };

const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { message: string; type: string; code: string; param: string | null } }).error;

describe('admin API', () => {
  it('is refused with the fix when no master key is configured', async () => {
    h = await startHarness();
    const response = await fetch(`${h.url}/admin/keys`);
    expect(response.status).toBe(403);
    const error = await errorOf(response);
    expect(error.code).toBe('admin_disabled');
    expect(error.message).toContain('server.api_key');
  });

  it('answers 401 without the master key or with a wrong one', async () => {
    await start();
    expect((await fetch(`${h?.url}/admin/keys`)).status).toBe(401);
    expect((await admin('/admin/keys', { key: 'wrong' })).status).toBe(401);
    expect((await admin('/admin/spend', { key: 'wrong' })).status).toBe(401);
    expect((await admin('/admin/keys', { key: 'wrong', body: { name: 'x' } })).status).toBe(401);
  });

  it('creates a key shown once and lists it without its secret', async () => {
    await start();
    const created = await createKey({ name: 'team-a', budget_usd: 10, rpm: 60, tpm: 100000, models: ['unity'] });
    expect(created.key).toMatch(/^uk-[A-Za-z0-9_-]{43}$/);
    const listed = await admin('/admin/keys');
    expect(listed.status).toBe(200);
    expect(listed.body.keys).toHaveLength(1);
    expect(listed.body.keys[0]).toMatchObject({ id: created.id, name: 'team-a', status: 'active', budget_usd: 10 });
    expect(JSON.stringify(listed.body)).not.toContain(created.key);
    expect(JSON.stringify(listed.body)).not.toContain(created.key.slice(3));
  });

  it('refuses a virtual key with 403', async () => {
    await start();
    const { key } = await createKey({ name: 'app' });
    const refused = await admin('/admin/keys', { key });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect(JSON.stringify(refused.body)).not.toContain('"keys"');
  });
});

describe('a request under a virtual key', () => {
  it('is served through the official OpenAI client', async () => {
    await start();
    const { key } = await createKey({ name: 'app', models: ['unity'] });
    const client = new OpenAI({ baseURL: `${h?.url}/v1`, apiKey: key, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'unity', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]?.message.content).toBe('echo: hi');
  });

  it('gets 401 for an unknown key, a forged key with the right prefix and no key at all', async () => {
    await start();
    const { key } = await createKey({ name: 'app' });
    const forged = `uk-${'A'.repeat(43)}`;
    for (const bad of [forged, `${key.slice(0, -1)}x`, 'sk-whatever']) {
      const response = await chat(bad);
      expect(response.status, bad).toBe(401);
    }
    const response = await chat(forged);
    expect((await errorOf(response)).code).toBe('invalid_api_key');
    expect((await fetch(`${h?.url}/v1/chat/completions`, { method: 'POST' })).status).toBe(401);
    expect(h?.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('gets 401 once its key has expired', async () => {
    const clock = testClock();
    await start({ clock: clock.now });
    const { key } = await createKey({ name: 'short', expires: '1h' });
    expect((await chat(key)).status).toBe(200);
    clock.advance(3_600_000);
    const response = await chat(key);
    expect(response.status).toBe(401);
    expect((await errorOf(response)).message).toContain('expired');
  });

  it('gets 401 right after its key is revoked, and the old secret 401 right after a rotation', async () => {
    await start();
    const a = await createKey({ name: 'a' });
    const b = await createKey({ name: 'b' });
    expect((await chat(a.key)).status).toBe(200);
    expect((await admin(`/admin/keys/${a.id}/revoke`, { method: 'POST' })).body.status).toBe('revoked');
    const revoked = await chat(a.key);
    expect(revoked.status).toBe(401);
    expect((await errorOf(revoked)).message).toContain('revoked');
    const rotated = await admin(`/admin/keys/${b.id}/rotate`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).not.toBe(b.key);
    expect((await chat(b.key)).status).toBe(401);
    expect((await chat(rotated.body.key)).status).toBe(200);
    expect((await admin(`/admin/keys/${a.id}/rotate`, { method: 'POST' })).status).toBe(409);
  });

  it('gets 403 naming the allowed models for another model, in each protocol’s shape', async () => {
    await start();
    const { key } = await createKey({ name: 'local-only', models: ['local'] });
    const openai = await chat(key, { model: 'unity' });
    expect(openai.status).toBe(403);
    const error = await errorOf(openai);
    expect(error).toMatchObject({ code: 'model_not_allowed', param: 'model' });
    expect(error.message).toContain('local');
    const anthropic = await fetch(`${h?.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'unity', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(anthropic.status).toBe(403);
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    const ollama = await fetch(`${h?.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'unity', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(ollama.status).toBe(403);
    expect(((await ollama.json()) as { error: string }).error).toContain('may use: local');
    expect((await chat(key, { model: 'local' })).status).toBe(200);
  });

  it('may reach the model listings but not the dashboard, metrics or events', async () => {
    await start();
    const { key } = await createKey({ name: 'app' });
    const get = (path: string) => fetch(`${h?.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    expect((await get('/v1/models')).status).toBe(200);
    expect((await get('/api/tags')).status).toBe(200);
    for (const path of ['/', '/metrics', '/audit', '/readyz']) expect((await get(path)).status, path).toBe(403);
  });

  it('is refused once keys exist on a gateway without a master key, and served with its key', async () => {
    h = await startHarness({ server: { prices } });
    const { openVirtualKeys } = await import('./open-virtual-keys');
    const dataDir = (await import('node:path')).join((await import('node:path')).dirname(h.configPath), 'data');
    const keys = openVirtualKeys({ dataDir });
    const { key } = await keys.create({ name: 'cli-made' });
    await keys.close();
    expect((await chat('')).status).toBe(401);
    expect((await chat(key)).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After over rpm, and serves again once the minute has passed', async () => {
    const clock = testClock();
    await start({ clock: clock.now });
    const { key } = await createKey({ name: 'slow', rpm: 2 });
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await errorOf(refused)).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    // rpm counts the last 60 s exactly: 30 s later both are still in it, 60 s later neither is.
    clock.advance(30_000);
    const still = await chat(key);
    expect(still.status).toBe(429);
    expect(still.headers.get('retry-after')).toBe('30');
    clock.advance(30_000);
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(429);
  });

  it('answers 429 over tpm, counting the request’s worst case until it is settled', async () => {
    const clock = testClock();
    await start({ clock: clock.now });
    const { key } = await createKey({ name: 'few-tokens', tpm: 300 });
    // ~40 input tokens estimated from the body + max_tokens 200: the second does not fit.
    expect((await chat(key, { max_tokens: 200 })).status).toBe(200);
    // Settled with the actual tokens (a few): now there is room again.
    expect((await chat(key, { max_tokens: 200 })).status).toBe(200);
    const refused = await chat(key, { max_tokens: 290 });
    expect(refused.status).toBe(429);
    expect(await errorOf(refused)).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(refused.headers.get('retry-after')).not.toBeNull();
  });

  it('answers an Ollama client over its rpm in Ollama’s shape', async () => {
    await start();
    const { key } = await createKey({ name: 'ollama-app', rpm: 1 });
    const ask = () =>
      fetch(`${h?.url}/api/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'unity', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
      });
    expect((await ask()).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: string }).error).toContain('requests per minute');
  });

  it('lets the master key past every limit and model list', async () => {
    await start();
    await createKey({ name: 'other', rpm: 1, models: ['local'] });
    for (let i = 0; i < 3; i++) expect((await chat(master)).status).toBe(200);
  });
});

describe('budgets and spend', () => {
  it('answers 429 insufficient_quota once the budget is spent, telling clients not to retry', async () => {
    await start();
    h?.cloud.setDefault(tenAndOne);
    // 10 × $0.001 + 1 × $0.002 = $0.012 a request. $0.02: the first leaves $0.008, so the second is admitted (something remains) and the third is not.
    const { key } = await createKey({ name: 'capped', budget_usd: 0.02 });
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(await errorOf(refused)).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    const client = new OpenAI({ baseURL: `${h?.url}/v1`, apiKey: key });
    const error = await client.chat.completions
      .create({ model: 'unity', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.code).toBe('insufficient_quota');
    expect(h?.cloud.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('starts the budget again in the next period', async () => {
    const clock = testClock();
    await start({ clock: clock.now });
    h?.cloud.setDefault(tenAndOne);
    const { key } = await createKey({ name: 'daily', budget_usd: 0.01, budget_period: 'day' });
    expect((await chat(key)).status).toBe(200);
    const refused = await chat(key);
    expect(refused.status).toBe(429);
    // 10:00:30 → midnight: 14 h less 30 s.
    expect(Number(refused.headers.get('retry-after'))).toBe(14 * 3600 - 30);
    clock.advance(86_400_000);
    expect((await chat(key)).status).toBe(200);
  });

  it('overshoots a budget under 50 concurrent requests by less than one request’s reservation', async () => {
    await start();
    // Each answer is 50 tokens (max_tokens 50): actual ≈ 10 × $0.001 + 50 × $0.002 = $0.11, close to the reservation
    // (input estimated from the body's bytes / 4, + 50 output tokens ≈ $0.125).
    h?.cloud.setDefault({ text: Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '), delayMs: 100 });
    const budget = 1;
    const { key, id } = await createKey({ name: 'racy', budget_usd: budget });
    // 50 clients at once, each asking again until it is refused: the budget is spent under full concurrency.
    const statuses: number[] = [];
    const client = async () => {
      for (let i = 0; i < 20; i++) {
        const status = (await chat(key)).status;
        statuses.push(status);
        if (status !== 200) return;
      }
    };
    await Promise.all(Array.from({ length: 50 }, client));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const served = statuses.filter((s) => s === 200).length;
    const spent = (await admin(`/admin/spend?key=${id}`)).body.total.cost_usd as number;
    const overshoot = Math.max(0, spent - budget);
    console.log(
      `budget $${budget}, 50 concurrent clients: ${served} served, spent $${spent}, overshoot $${overshoot.toFixed(3)}`,
    );
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 429)).toHaveLength(50);
    expect(spent).toBeGreaterThanOrEqual(budget - 0.125);
    expect(overshoot).toBeLessThan(0.125);
  });

  it('sums tokens and cost per key, per model and per day', async () => {
    await start();
    h?.cloud.setDefault(tenAndOne);
    const a = await createKey({ name: 'a' });
    const b = await createKey({ name: 'b' });
    for (let i = 0; i < 3; i++) expect((await chat(a.key)).status).toBe(200);
    expect((await chat(b.key)).status).toBe(200);
    expect((await chat(b.key, { model: 'local' })).status).toBe(200);
    // Settlement runs when each response closes: give the last one a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spend = (await admin('/admin/spend')).body;
    // Each cloud answer: 10 input + 1 output tokens, $0.012.
    expect(spend.by_key[a.id]).toEqual({ name: 'a', requests: 3, tokens: 33, cost_usd: 0.036 });
    expect(spend.by_key[b.id]).toMatchObject({ name: 'b', requests: 2, cost_usd: 0.012 });
    expect(spend.by_model['openai/MiniMax-M2']).toEqual({ requests: 4, tokens: 44, cost_usd: 0.048 });
    expect(spend.by_model['ollama_chat/qwen2.5-coder:7b']).toMatchObject({ requests: 1, cost_usd: 0 });
    expect(Object.keys(spend.by_day)).toEqual([new Date().toISOString().slice(0, 10)]);
    expect(spend.total).toMatchObject({ requests: 5, cost_usd: 0.048 });
    const listed = (await admin('/admin/keys')).body.keys.find((k: { id: string }) => k.id === a.id);
    expect(listed).toMatchObject({ spent_usd: 0.036, reserved_usd: 0 });
  });
});
