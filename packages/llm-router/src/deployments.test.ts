import { FakeOpenAI } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ask, type ConfigPatch, collect, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import { parseConfig } from './config';
import { type Deployment, DeploymentLoad, orderDeployments } from './deployments';
import { ConfigError, RouterError } from './errors';
import type { Router, RouterOptions } from './router';

const bed = useRouterTestBed();
const { fakes } = bed;

// Two more upstreams serving the cloud model: a second MiniMax key (east) and a keyless vLLM box.
let east: FakeOpenAI;
let vllm: FakeOpenAI;
beforeAll(async () => {
  east = await FakeOpenAI.start({ apiKey: 'sk-east-0123456789', models: ['MiniMax-M2'] });
  vllm = await FakeOpenAI.start({ models: ['MiniMax-M2'] });
});
afterAll(async () => {
  await Promise.all([east.close(), vllm.close()]);
});
beforeEach(() => {
  east.reset();
  vllm.reset();
});

const env = { MINIMAX_API_KEY: 'sk-test-secret-0123456789abcdef', MINIMAX_KEY_EAST: 'sk-east-0123456789' };

function deployed(
  extra: Partial<Deployment>[] = [{}, {}, {}],
  router: Record<string, unknown> = {},
  options: Partial<RouterOptions> = {},
  more: ConfigPatch = {},
): Router {
  const base = [
    { model: 'minimax/MiniMax-M2', id: 'minimax-west', base_url: fakes.cloud.baseURL },
    { model: 'minimax/MiniMax-M2', id: 'minimax-east', base_url: east.baseURL, api_key_env: 'MINIMAX_KEY_EAST' },
    { model: 'minimax/MiniMax-M2', id: 'vllm-box', use: 'openai/MiniMax-M2', base_url: vllm.baseURL },
  ];
  const deployments = base.map((d, i) => ({ ...d, ...extra[i] })).filter((_, i) => i < extra.length);
  const patch = {
    deployments,
    router: { breaker: { failure_threshold: 100, cooldown_seconds: 30 }, ...router },
    ...more,
  };
  return bed.use(routerFor(fakeConfig(fakes, patch as unknown as ConfigPatch), { env, ...options }));
}

const served = (r: { provider: string }) => r.provider;
const upstreamCounts = () => [fakes.cloud, east, vllm].map((f) => f.requestsTo('/chat/completions').length);

describe('deployments of one model string', () => {
  it('serves from the first deployment, each with its own base URL and key, and names it in the attempts', async () => {
    const r = deployed();
    const response = await r.chat(ask('hi'));
    expect(served(response)).toBe('minimax-west');
    expect(response.attempts).toEqual([
      expect.objectContaining({ provider: 'minimax-west', model: 'minimax/MiniMax-M2', ok: true }),
    ]);
    expect(fakes.cloud.requests[0]?.headers.authorization).toBe(`Bearer ${env.MINIMAX_API_KEY}`);
    await r.chat({ ...ask('hi'), model: 'minimax/MiniMax-M2' });
    expect(upstreamCounts()).toEqual([2, 0, 0]);
  });

  it('falls over to the next deployment when one fails, and cools the failed one down', async () => {
    fakes.cloud.enqueue({ fault: 'status', status: 503 });
    const r = deployed(undefined, { load_balancing: { cooldown_seconds: 60 } });
    const first = await r.chat(ask('one'));
    expect(served(first)).toBe('minimax-east');
    expect(first.attempts.map((a) => [a.provider, a.error?.code ?? 'ok'])).toEqual([
      ['minimax-west', 'SERVER_ERROR'],
      ['minimax-east', 'ok'],
    ]);
    expect(east.requests[0]?.headers.authorization).toBe(`Bearer ${env.MINIMAX_KEY_EAST}`);
    // Cooling down: the next request skips it without sending anything.
    const second = await r.chat(ask('two'));
    expect(second.attempts[0]).toMatchObject({
      provider: 'minimax-west',
      skipped: true,
      error: { code: 'CIRCUIT_OPEN' },
    });
    expect(fakes.cloud.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('falls over from a deployment whose key is rejected, instead of refusing the request', async () => {
    const r = deployed([{}, { api_key_env: 'MINIMAX_API_KEY' }, {}]);
    const response = await r.chat(ask('hi'));
    expect(served(response)).toBe('minimax-west');
    fakes.cloud.enqueue({ fault: 'status', status: 401 });
    const after = await r.chat(ask('again'));
    expect(after.attempts.map((a) => [a.provider, a.error?.code ?? 'ok'])).toEqual([
      ['minimax-west', 'AUTH_FAILED'],
      ['minimax-east', 'AUTH_FAILED'],
      ['vllm-box', 'ok'],
    ]);
  });

  it('skips a deployment whose key variable is unset, saying which variable', async () => {
    const r = deployed([{ api_key_env: 'MINIMAX_KEY_NOWHERE' }, {}]);
    const response = await r.chat(ask('hi'));
    expect(served(response)).toBe('minimax-east');
    expect(response.attempts[0]?.error?.message).toContain('MINIMAX_KEY_NOWHERE is not set');
  });

  it('keeps a deployment under its rpm limit: the next one serves, and the limit frees after a minute', async () => {
    let now = 1_000_000;
    const r = deployed([{ rpm: 2 }, {}], {}, { now: () => now });
    const providers = [];
    for (let i = 0; i < 3; i++) providers.push(served(await r.chat(ask(`n${i}`))));
    expect(providers).toEqual(['minimax-west', 'minimax-west', 'minimax-east']);
    const limited = await r.chat(ask('n3'));
    expect(limited.attempts[0]).toMatchObject({
      provider: 'minimax-west',
      skipped: true,
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('limit of 2 requests per minute') },
    });
    now += 60_001;
    expect(served(await r.chat(ask('n4')))).toBe('minimax-west');
  });

  it('holds the rpm limit against a burst of concurrent requests: no more than rpm reach the deployment', async () => {
    const r = deployed([{ rpm: 2 }, {}]);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => r.chat(ask(`burst ${i}`))));
    const byDeployment = answers.reduce<Record<string, number>>((counts, a) => {
      counts[a.provider] = (counts[a.provider] ?? 0) + 1;
      return counts;
    }, {});
    expect(byDeployment).toEqual({ 'minimax-west': 2, 'minimax-east': 18 });
    expect(fakes.cloud.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('keeps a deployment under its tpm limit, counting the tokens of its answers', async () => {
    const long = { text: 'long answer', usage: { promptTokens: 40, completionTokens: 30 } };
    fakes.cloud.enqueue(long, long);
    const r = deployed([{ tpm: 80 }, {}]);
    const firstAnswer = await r.chat(ask('a'));
    expect(served(firstAnswer)).toBe('minimax-west');
    expect(served(await r.chat(ask('b')))).toBe('minimax-west');
    const third = await r.chat(ask('c'));
    expect(served(third)).toBe('minimax-east');
    const used = 2 * firstAnswer.usage.totalTokens;
    expect(used).toBeGreaterThanOrEqual(80);
    expect(third.attempts[0]?.error?.message).toContain(`limit of 80 tokens per minute (${used} used)`);
  });

  it('weighted: shares the requests by weight', async () => {
    const r = deployed([{ weight: 3 }, { weight: 1 }], { load_balancing: { strategy: 'weighted' } });
    const counts = { 'minimax-west': 0, 'minimax-east': 0 } as Record<string, number>;
    for (let i = 0; i < 400; i++) counts[served(await r.chat({ ...ask('w'), cache: false }))]! += 1;
    // Expected 300 / 100; the binomial spread is ±9 (one sigma): 4.6 sigmas of room.
    expect(counts['minimax-west']).toBeGreaterThan(260);
    expect(counts['minimax-west']).toBeLessThan(340);
  });

  it('least-busy: sends a request to the deployment with the fewest in flight', async () => {
    fakes.cloud.enqueue({ text: 'slow', delayMs: 400 });
    const r = deployed([{}, {}], { load_balancing: { strategy: 'least-busy' } });
    const slow = r.chat(ask('slow'));
    await fakes.cloud.waitForRequests(1);
    expect(served(await r.chat(ask('quick')))).toBe('minimax-east');
    expect(served(await slow)).toBe('minimax-west');
    expect(served(await r.chat(ask('idle again')))).toBe('minimax-west');
  });

  it('lowest-latency: after measuring each, prefers the one with the lower time to first token', async () => {
    fakes.cloud.enqueue({ text: 'slow west', delayMs: 150 });
    const r = deployed([{}, {}], { load_balancing: { strategy: 'lowest-latency' } });
    expect(served(await r.chat(ask('1')))).toBe('minimax-west');
    expect(served(await r.chat(ask('2')))).toBe('minimax-east');
    const later = [];
    for (let i = 0; i < 3; i++) later.push(served(await r.chat(ask(`s${i}`))));
    expect(later).toEqual(['minimax-east', 'minimax-east', 'minimax-east']);
    const { events } = await collect(r.stream(ask('stream')));
    expect(events.at(-1)).toMatchObject({ type: 'finish', response: { provider: 'minimax-east' } });
  });

  it('fails with every deployment listed when none can serve', async () => {
    for (const f of [fakes.cloud, east, vllm]) f.enqueue({ fault: 'status', status: 503 });
    const r = deployed(undefined, {}, {}, { cloud_llm: { fallback_to_local: false } });
    const error = await r.chat(ask('x')).catch((e: unknown) => e);
    expect(RouterError.isInstance(error)).toBe(true);
    const providers = (error as RouterError).attempts.map((a) => a.provider);
    expect(providers).toEqual(['minimax-west', 'minimax-east', 'vllm-box']);
    expect((error as RouterError).code).toBe('ALL_PROVIDERS_FAILED');
  });
});

describe('deployment settings', () => {
  const configWith = (deployments: unknown[]) => parseConfig(JSON.stringify({ deployments }), 'system.yaml');
  const configError = (deployments: unknown[]) => {
    try {
      configWith(deployments);
    } catch (error) {
      if (ConfigError.isInstance(error)) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('refuses an id used twice or taken by a provider, naming the field', () => {
    const twice = configError([
      { model: 'minimax/MiniMax-M2', id: 'a' },
      { model: 'minimax/MiniMax-M2', id: 'a' },
    ]);
    expect(twice.message).toContain('deployments.1.id');
    expect(twice.message).toContain('the id of another deployment');
    expect(configError([{ model: 'minimax/MiniMax-M2', id: 'ollama' }]).message).toContain('a provider id');
  });

  it('refuses a model string without a known provider, and the embedded engine', () => {
    expect(configError([{ model: 'nowhere/x', id: 'a' }]).message).toContain('unknown provider "nowhere"');
    expect(configError([{ model: 'llamacpp/stories260K', id: 'a' }]).message).toContain('the embedded engine');
  });

  it('defaults to ordered balancing with a 30 s cooldown and weight 1', () => {
    const config = configWith([{ model: 'minimax/MiniMax-M2', id: 'a' }]);
    expect(config.router.load_balancing).toEqual({ strategy: 'ordered', cooldown_seconds: 30 });
    expect(config.deployments[0]?.weight).toBe(1);
  });
});

describe('orderDeployments', () => {
  const member = (id: string, weight = 1) => ({ deployment: { id, model: 'm/x', weight } as Deployment });
  const members = [member('a', 1), member('b', 2), member('c', 1)];

  it('draws by weight without replacement', () => {
    const load = new DeploymentLoad(() => 0);
    // 0.3 of 4 = 1.2: past a (1), inside b (1–3); then 0.9 of 2 = 1.8: past a (1), inside c.
    const draws = [0.3, 0.9, 0];
    const order = orderDeployments(members, 'weighted', load, () => draws.shift() ?? 0);
    expect(order.map((m) => m.deployment.id)).toEqual(['b', 'c', 'a']);
  });

  it('orders by requests in flight, then by latency with unmeasured ones first, ties as written', () => {
    const load = new DeploymentLoad(() => 0);
    load.started('a');
    load.started('a');
    load.started('b');
    expect(orderDeployments(members, 'least-busy', load).map((m) => m.deployment.id)).toEqual(['c', 'b', 'a']);
    load.finished('a', { firstTokenMs: 50, tokens: 1 });
    load.finished('b', { firstTokenMs: 10, tokens: 1 });
    expect(orderDeployments(members, 'lowest-latency', load).map((m) => m.deployment.id)).toEqual(['c', 'b', 'a']);
    // The average moves by 0.3 of each new sample: a at 50 → 0.3·0 + 0.7·50 = 35, still behind b at 10.
    load.started('a');
    load.finished('a', { firstTokenMs: 0, tokens: 1 });
    expect(load.latencyMs('a')).toBeCloseTo(35);
  });
});
