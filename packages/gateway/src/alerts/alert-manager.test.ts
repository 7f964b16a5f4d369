import { describe, expect, it } from 'vitest';
import { EventBus } from '../event-bus';
import { AlertManager } from './alert-manager';
import type { KeyBudget } from './alert-rules';
import { alertsConfigSchema } from './alerts-config';

function manager(rules: unknown[], options: { budgets?: () => Promise<KeyBudget[]>; providers?: string[] } = {}) {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const bus = new EventBus();
  const alerts = new AlertManager({
    config: alertsConfigSchema.parse({ repeat_seconds: 10, rules }),
    bus,
    now: () => clock.now,
    ...(options.budgets ? { budgets: { list: options.budgets } } : {}),
    ...(options.providers ? { providers: options.providers } : {}),
  });
  const seen: string[] = [];
  bus.subscribe((e) => {
    if (e.type.startsWith('alert.')) seen.push(`${e.type} ${String(e.id ?? e.message)}`);
  });
  return { clock, bus, alerts, seen };
}

describe('AlertManager', () => {
  it('publishes alert.fired, alert.repeat and alert.resolved on the bus, on its clock', async () => {
    const { clock, bus, alerts, seen } = manager([
      { name: 'errors', kind: 'error_rate', threshold_percent: 10, window_seconds: 60, min_requests: 1 },
    ]);
    alerts.start();
    try {
      bus.publish('request.end', { ms: 5, status: 502, fallback: false, ts: clock.now });
      await alerts.evaluate();
      clock.now += 10_000;
      await alerts.evaluate();
      clock.now += 50_001;
      await alerts.evaluate();
      expect(seen).toEqual(['alert.fired errors', 'alert.repeat errors', 'alert.resolved errors']);
      expect(alerts.recent(1).map((n) => n.transition)).toEqual(['repeat', 'resolved']);
    } finally {
      await alerts.stop();
    }
  });

  it('counts only the server’s request.end events, never events a client published', async () => {
    const { clock, bus, alerts, seen } = manager([
      { name: 'errors', kind: 'error_rate', threshold_percent: 10, window_seconds: 60, min_requests: 1 },
    ]);
    alerts.start();
    try {
      bus.publishClient('client.request.end', { ms: 5, status: 502, ts: clock.now });
      await alerts.evaluate();
      expect(seen).toEqual([]);
    } finally {
      await alerts.stop();
    }
  });

  it('takes a provider as down on an open or half-open breaker and on a failed health check, not on a skipped one', async () => {
    const { clock, bus, alerts } = manager([{ name: 'down', kind: 'provider_down', for_seconds: 0 }], {
      providers: ['openai', 'ollama'],
    });
    alerts.start();
    try {
      bus.publish('health.change', { provider: 'ollama', check: 'ollama-reachable', status: 'skip' });
      bus.publish('router.breaker', { provider: 'openai', from: 'closed', to: 'open' });
      bus.publish('router.breaker', { provider: 'openai', from: 'open', to: 'half-open' });
      await alerts.evaluate();
      expect(alerts.active().map((a) => a.id)).toEqual(['down:openai']);
      bus.publish('health.change', { provider: 'ollama', check: 'ollama-reachable', status: 'fail', up: false });
      clock.now += 1;
      await alerts.evaluate();
      expect(alerts.active().map((a) => a.id)).toEqual(['down:openai', 'down:ollama']);
      bus.publish('router.breaker', { provider: 'openai', from: 'half-open', to: 'closed' });
      await alerts.evaluate();
      expect(alerts.active().map((a) => a.id)).toEqual(['down:ollama']);
    } finally {
      await alerts.stop();
    }
  });

  it('keeps budget alerts as they are while the key store cannot be read, and says so on the bus', async () => {
    let fail = false;
    const { alerts, seen } = manager([{ name: 'budget', kind: 'key_budget', at_percent: [50] }], {
      budgets: async () => {
        if (fail) throw new Error('Redis is away');
        return [{ id: 'key_1', name: 'a', status: 'active', budget_usd: 1, budget_period: 'total', spent_usd: 0.6 }];
      },
    });
    await alerts.evaluate();
    fail = true;
    await alerts.evaluate();
    expect(alerts.active().map((a) => a.id)).toEqual(['budget:key_1:50']);
    expect(seen).toEqual([
      'alert.fired budget:key_1:50',
      "alert.error cannot read the virtual keys' budgets: Redis is away",
    ]);
  });

  it('passes every notification through the redaction before it leaves', async () => {
    const bus = new EventBus();
    const alerts = new AlertManager({
      config: alertsConfigSchema.parse({
        rules: [{ name: 'budget', kind: 'key_budget', at_percent: [1] }],
      }),
      bus,
      budgets: {
        list: async () => [
          {
            id: 'key_1',
            name: 'sk-secret-name',
            status: 'active',
            budget_usd: 1,
            budget_period: 'total',
            spent_usd: 1,
          },
        ],
      },
      redact: (value) => JSON.parse(JSON.stringify(value).replaceAll('sk-secret-name', '[redacted]')),
    });
    const [fired] = await alerts.evaluate();
    expect(JSON.stringify(fired)).not.toContain('sk-secret-name');
    expect(JSON.stringify(alerts.active())).not.toContain('sk-secret-name');
    expect(JSON.stringify(bus.recent())).not.toContain('sk-secret-name');
  });
});
