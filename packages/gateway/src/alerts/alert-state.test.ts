import { describe, expect, it } from 'vitest';
import { type AlertCondition, AlertStates } from './alert-state';

const slow = (p95: number): AlertCondition => ({
  id: 'slow',
  rule: 'slow',
  kind: 'latency_p95',
  summary: `p95 ${p95} ms`,
  details: { p95_ms: p95 },
});

const down = (provider: string): AlertCondition => ({
  id: `down:${provider}`,
  rule: 'down',
  kind: 'provider_down',
  subject: provider,
  summary: `${provider} down`,
  details: {},
});

function machine(repeatMs = 1_000) {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const states = new AlertStates({ now: () => clock.now, repeatMs: () => repeatMs });
  return { clock, states };
}

describe('AlertStates', () => {
  it('fires once when an alert becomes active, however often it is evaluated before the repeat interval', () => {
    const { clock, states } = machine(1_000);
    expect(states.update('slow', [slow(6_000)]).map((n) => [n.transition, n.status, n.count])).toEqual([
      ['fired', 'firing', 1],
    ]);
    clock.now += 500;
    expect(states.update('slow', [slow(6_100)])).toEqual([]);
    clock.now += 499;
    expect(states.update('slow', [slow(6_200)])).toEqual([]);
    expect(states.active()).toMatchObject([{ id: 'slow', summary: 'p95 6200 ms', count: 1 }]);
  });

  it('repeats on schedule while active, counted from the last notification', () => {
    const { clock, states } = machine(1_000);
    const start = clock.now;
    states.update('slow', [slow(6_000)]);
    clock.now += 1_000;
    const [repeat] = states.update('slow', [slow(7_000)]);
    expect(repeat).toMatchObject({ transition: 'repeat', status: 'firing', count: 2, summary: 'p95 7000 ms' });
    expect(repeat?.startedAt).toBe(new Date(start).toISOString());
    clock.now += 999;
    expect(states.update('slow', [slow(7_000)])).toEqual([]);
    clock.now += 1;
    expect(states.update('slow', [slow(7_000)]).map((n) => n.transition)).toEqual(['repeat']);
  });

  it('never repeats with a repeat interval of 0', () => {
    const { clock, states } = machine(0);
    states.update('slow', [slow(6_000)]);
    clock.now += 10_000_000;
    expect(states.update('slow', [slow(6_000)])).toEqual([]);
  });

  it('resolves once when the alert no longer holds, and fires anew when it returns', () => {
    const { clock, states } = machine(1_000);
    states.update('slow', [slow(6_000)]);
    clock.now += 2_000;
    const [resolved] = states.update('slow', []);
    expect(resolved).toMatchObject({ transition: 'resolved', status: 'resolved', summary: 'p95 6000 ms', count: 2 });
    expect(resolved?.at).toBe(new Date(clock.now).toISOString());
    expect(states.update('slow', [])).toEqual([]);
    expect(states.active()).toEqual([]);
    clock.now += 10;
    expect(states.update('slow', [slow(8_000)])).toMatchObject([{ transition: 'fired', count: 1 }]);
  });

  it("keeps each subject of a rule apart and resolves only the rule's own alerts", () => {
    const { states } = machine();
    states.update('slow', [slow(6_000)]);
    expect(states.update('down', [down('openai'), down('ollama')]).map((n) => [n.id, n.transition])).toEqual([
      ['down:openai', 'fired'],
      ['down:ollama', 'fired'],
    ]);
    expect(states.update('down', [down('ollama')]).map((n) => [n.id, n.transition])).toEqual([
      ['down:openai', 'resolved'],
    ]);
    expect(
      states
        .active()
        .map((a) => a.id)
        .sort(),
    ).toEqual(['down:ollama', 'slow']);
  });

  it('numbers notifications in order across rules', () => {
    const { clock, states } = machine(1_000);
    const made = [...states.update('slow', [slow(6_000)]), ...states.update('down', [down('openai')])];
    clock.now += 1_000;
    made.push(...states.update('slow', []));
    expect(made.map((n) => n.seq)).toEqual([1, 2, 3]);
  });
});
