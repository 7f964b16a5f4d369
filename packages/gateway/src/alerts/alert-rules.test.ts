import { describe, expect, it } from 'vitest';
import { ProviderAvailability } from '../provider-availability';
import { evaluateRule, type KeyBudget, type RuleInputs } from './alert-rules';
import { type AlertRuleConfig, alertsConfigSchema } from './alerts-config';
import { percentile, RequestWindow } from './request-window';

const now = 1_000_000;
const rule = (yaml: Record<string, unknown>): AlertRuleConfig => {
  const [parsed] = alertsConfigSchema.parse({ rules: [yaml] }).rules;
  if (!parsed) throw new Error('no rule');
  return parsed;
};

function inputs(samples: Array<{ ago: number; ms?: number; status?: number; fallback?: boolean }> = []): RuleInputs {
  const requests = new RequestWindow(600_000);
  for (const s of samples) {
    requests.record({ at: now - s.ago, ms: s.ms ?? 10, status: s.status ?? 200, fallback: s.fallback ?? false });
  }
  return { now, requests, providers: new ProviderAvailability({ now: () => now }) };
}

describe('RequestWindow', () => {
  it('counts only the requests within the window, and leaves client disconnects (499) out', () => {
    const window = inputs([
      { ago: 100 },
      { ago: 900, status: 502 },
      { ago: 1_100, status: 500 },
      { ago: 50, status: 499 },
    ]);
    expect(window.requests.stats(1_000, now)).toMatchObject({ requests: 2, errors: 1, fallbacks: 0 });
  });

  it('keeps the newest maxSamples requests, dropping the oldest first, also after it wraps around and is pruned', () => {
    const window = new RequestWindow(1_000, 3);
    for (let i = 0; i < 5; i++) window.record({ at: now + i, ms: i, status: i === 0 ? 500 : 200, fallback: false });
    // The 500 was the oldest: dropped once the fourth request came.
    expect(window.stats(10_000, now + 10)).toEqual({ requests: 3, errors: 0, fallbacks: 0, p95Ms: 4 });
    // Past maxAgeMs the older ones are pruned; new ones go in after the one left, wrapping around, in order.
    expect(window.stats(10_000, now + 1_003)).toEqual({ requests: 1, errors: 0, fallbacks: 0, p95Ms: 4 });
    window.record({ at: now + 1_003, ms: 7, status: 502, fallback: true });
    window.record({ at: now + 1_003, ms: 1, status: 200, fallback: false });
    expect(window.stats(10_000, now + 1_003)).toEqual({ requests: 3, errors: 1, fallbacks: 1, p95Ms: 7 });
    window.record({ at: now + 1_004, ms: 2, status: 200, fallback: false });
    expect(window.stats(10_000, now + 1_004)).toEqual({ requests: 3, errors: 1, fallbacks: 1, p95Ms: 7 });
  });

  it('takes the nearest-rank percentile', () => {
    expect(percentile([5, 1, 4, 2, 3], 95)).toBe(5);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
    expect(percentile([], 95)).toBeUndefined();
  });
});

describe('evaluateRule', () => {
  it('latency_p95: active when the p95 of the window is above the threshold (the seed’s 5 s by default)', () => {
    const slow = rule({ kind: 'latency_p95', window_seconds: 60, min_requests: 2 });
    expect(slow).toMatchObject({ threshold_ms: 5_000 });
    const fast = Array.from({ length: 19 }, () => ({ ago: 1_000, ms: 100 }));
    expect(evaluateRule(slow, inputs([...fast, { ago: 1_000, ms: 9_000 }]))).toEqual([]);
    const [alert] = evaluateRule(slow, inputs([...fast, { ago: 500, ms: 9_000 }, { ago: 400, ms: 8_000 }]));
    expect(alert).toMatchObject({ id: 'latency_p95', rule: 'latency_p95', details: { p95_ms: 8_000, requests: 21 } });
    expect(alert?.summary).toBe('p95 latency 8000 ms over the last 60 s is above 5000 ms (21 requests)');
    // Too few requests to judge.
    expect(evaluateRule(slow, inputs([{ ago: 10, ms: 9_000 }]))).toEqual([]);
  });

  it('error_rate: active above the threshold once the window holds the minimum of requests', () => {
    const errors = rule({
      name: 'errors',
      kind: 'error_rate',
      threshold_percent: 25,
      min_requests: 4,
      window_seconds: 60,
    });
    const three = [{ ago: 1, status: 502 }, { ago: 2, status: 502 }, { ago: 3 }];
    expect(evaluateRule(errors, inputs(three))).toEqual([]);
    const [alert] = evaluateRule(errors, inputs([...three, { ago: 4 }]));
    expect(alert?.summary).toBe('error rate 50% over the last 60 s is above 25% (2 of 4 requests)');
    expect(evaluateRule(errors, inputs([...three, ...Array.from({ length: 5 }, () => ({ ago: 5 }))]))).toEqual([]);
    // A 4xx is the client's mistake, not a failure of the gateway.
    expect(evaluateRule(errors, inputs(Array.from({ length: 4 }, () => ({ ago: 1, status: 404 }))))).toEqual([]);
  });

  it('fallback_rate: active when more requests than the threshold were served by a fallback', () => {
    const fallbacks = rule({ kind: 'fallback_rate', threshold_percent: 50, min_requests: 2, window_seconds: 10 });
    expect(evaluateRule(fallbacks, inputs([{ ago: 1, fallback: true }, { ago: 2 }]))).toEqual([]);
    const [alert] = evaluateRule(
      fallbacks,
      inputs([{ ago: 1, fallback: true }, { ago: 2, fallback: true }, { ago: 3 }]),
    );
    expect(alert).toMatchObject({ kind: 'fallback_rate', details: { fallbacks: 2, requests: 3 } });
  });

  it('provider_down: one alert per provider down at least for_seconds', () => {
    const down = rule({ kind: 'provider_down', for_seconds: 30 });
    let clock = now - 60_000;
    const providers = new ProviderAvailability({ now: () => clock });
    providers.track('ollama');
    providers.breakerChanged('openai', 'open');
    clock = now - 10_000;
    providers.healthChanged('minimax', 'cloud-endpoint', false);
    clock = now;
    const found = evaluateRule(down, { ...inputs(), providers });
    expect(found.map((a) => [a.id, a.subject])).toEqual([['provider_down:openai', 'openai']]);
    expect(found[0]?.summary).toMatch(/^provider openai has been down for 60 s \(since /);
    expect(evaluateRule(rule({ kind: 'provider_down', for_seconds: 5 }), { ...inputs(), providers })).toHaveLength(2);
    expect(
      evaluateRule(rule({ kind: 'provider_down', for_seconds: 5, providers: ['ollama'] }), { ...inputs(), providers }),
    ).toEqual([]);
  });

  it('key_budget: one alert per key and threshold reached, never for revoked keys or keys without a budget', () => {
    const budget = rule({ kind: 'key_budget' });
    const key = (id: string, spent: number, extra: Partial<KeyBudget> = {}): KeyBudget => ({
      id,
      name: `team-${id}`,
      status: 'active',
      budget_usd: 10,
      budget_period: 'month',
      spent_usd: spent,
      ...extra,
    });
    const keys = [
      key('key_a', 7.9),
      key('key_b', 8),
      key('key_c', 10.5),
      key('key_d', 50, { budget_usd: null }),
      key('key_e', 50, { status: 'revoked' }),
    ];
    const found = evaluateRule(budget, { ...inputs(), keys });
    expect(found.map((a) => a.id)).toEqual(['key_budget:key_b:80', 'key_budget:key_c:80', 'key_budget:key_c:100']);
    expect(found[2]?.summary).toBe(
      'virtual key "team-key_c" (key_c) has spent $10.50 of its $10.00 budget per month (105%), reaching 100%',
    );
    const named = rule({ kind: 'key_budget', at_percent: [100], keys: ['team-key_c'] });
    expect(evaluateRule(named, { ...inputs(), keys }).map((a) => a.subject)).toEqual(['key_c']);
  });
});
