import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Check, CheckOutcome } from './check';
import { type HealthChange, HealthMonitor } from './health-monitor';

/** A check whose next outcomes are scripted; the last one repeats. */
function scripted(id: string, outcomes: CheckOutcome[], provider?: string): Check & { runs: number } {
  const check = {
    id,
    title: id,
    required: true,
    runs: 0,
    ...(provider ? { provider } : {}),
    async run() {
      const outcome = outcomes[Math.min(check.runs, outcomes.length - 1)] as CheckOutcome;
      check.runs++;
      return outcome;
    },
  };
  return check;
}

const ok: CheckOutcome = { status: 'ok', message: 'ok' };
const fail: CheckOutcome = { status: 'fail', message: 'down' };

let clock = 0;
const now = () => clock;
beforeEach(() => {
  clock = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('HealthMonitor', () => {
  it('emits a change on the first run and on every change of status, not when it stays the same', async () => {
    const monitor = new HealthMonitor({ checks: [scripted('ollama', [ok, ok, fail, fail, ok])], now });
    const changes: HealthChange[] = [];
    monitor.on('change', (c) => changes.push(c));
    for (let i = 0; i < 5; i++) {
      clock = i * 1000;
      await monitor.runOnce();
    }
    expect(changes.map((c) => [c.from, c.to, c.at])).toEqual([
      [undefined, 'ok', 0],
      ['ok', 'fail', 2000],
      ['fail', 'ok', 4000],
    ]);
  });

  it('runs every interval until stopped, without overlapping rounds', async () => {
    vi.useFakeTimers();
    const check = scripted('x', [ok]);
    const monitor = new HealthMonitor({ checks: [check], intervalMs: 5000, now });
    const rounds: number[] = [];
    monitor.on('results', () => rounds.push(check.runs));
    monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(rounds).toEqual([1]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(rounds).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(rounds).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(rounds).toEqual([1, 2, 3, 4]);
    monitor.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(rounds).toEqual([1, 2, 3, 4]);
    expect(monitor.isRunning).toBe(false);
  });

  it('keeps a single loop when stopped and started again while a round is in flight', async () => {
    vi.useFakeTimers();
    const pending: (() => void)[] = [];
    let runs = 0;
    const slow: Check = {
      id: 'slow',
      title: 'slow',
      required: true,
      run: () => {
        runs++;
        return new Promise<CheckOutcome>((resolve) => pending.push(() => resolve(ok)));
      },
    };
    const monitor = new HealthMonitor({ checks: [slow], intervalMs: 1000, now });
    monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    monitor.stop();
    monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    for (const release of pending.splice(0)) release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(3);
    monitor.stop();
  });

  it('gives each check the share of runs it was up', async () => {
    const monitor = new HealthMonitor({
      checks: [scripted('cloud', [ok, fail, ok, ok]), scripted('local', [ok])],
      now,
    });
    expect(monitor.availability('cloud')).toEqual({ up: 0, total: 0, ratio: undefined });
    for (let i = 0; i < 4; i++) await monitor.runOnce();
    expect(monitor.availability('cloud')).toEqual({ up: 3, total: 4, ratio: 0.75 });
    expect(monitor.availability('local')).toEqual({ up: 4, total: 4, ratio: 1 });
  });

  it('forgets runs older than the window', async () => {
    const monitor = new HealthMonitor({ checks: [scripted('cloud', [fail, fail, ok, ok])], windowMs: 10_000, now });
    for (const t of [0, 5000, 10_000, 15_000]) {
      clock = t;
      await monitor.runOnce();
    }
    // At 15 000 the window (5 000, 15 000] holds the runs at 10 000 and 15 000.
    expect(monitor.availability('cloud')).toEqual({ up: 2, total: 2, ratio: 1 });
  });

  it('tells the router whether a provider is up, from the checks that name it', async () => {
    const monitor = new HealthMonitor({
      checks: [
        scripted('cloud-key', [ok, { status: 'warn', message: 'no key', up: false }], 'minimax'),
        scripted('ollama-reachable', [fail, ok], 'ollama'),
        scripted('memory', [fail]),
      ],
      now,
    });
    expect(monitor.isUp('ollama')).toBeUndefined();
    await monitor.runOnce();
    expect([monitor.isUp('minimax'), monitor.isUp('ollama'), monitor.isUp('openai')]).toEqual([true, false, undefined]);
    await monitor.runOnce();
    expect([monitor.isUp('minimax'), monitor.isUp('ollama')]).toEqual([false, true]);
  });

  it('keeps the latest result of every check', async () => {
    const monitor = new HealthMonitor({ checks: [scripted('a', [ok, fail])], now });
    await monitor.runOnce();
    await monitor.runOnce();
    expect(monitor.latest().map((r) => [r.id, r.status])).toEqual([['a', 'fail']]);
  });

  /** A check that waits until its signal aborts, saying when it started and when it saw the abort. */
  const waiting = (state: { started: boolean; aborted: boolean }): Check => ({
    id: 'slow',
    title: 'slow',
    required: true,
    run: (signal) =>
      new Promise((_, reject) => {
        state.started = true;
        const abort = () => {
          state.aborted = true;
          reject(signal?.reason);
        };
        if (signal?.aborted) abort();
        signal?.addEventListener('abort', abort);
      }),
  });

  it('aborts the round in flight when stopped', async () => {
    const state = { started: false, aborted: false };
    const monitor = new HealthMonitor({ checks: [waiting(state)], now });
    monitor.start();
    await vi.waitFor(() => expect(state.started).toBe(true));
    monitor.stop();
    expect(state.aborted).toBe(true);
  });

  it('records nothing from a round whose signal aborted', async () => {
    const state = { started: false, aborted: false };
    const monitor = new HealthMonitor({ checks: [waiting(state)], now });
    const events: string[] = [];
    monitor.on('results', () => events.push('results'));
    monitor.on('change', () => events.push('change'));
    const controller = new AbortController();
    const round = monitor.runOnce(controller.signal);
    await vi.waitFor(() => expect(state.started).toBe(true));
    controller.abort(new Error('stop'));
    await round;
    expect(events).toEqual([]);
    expect(monitor.latest()).toEqual([]);
  });

  it('reports a round that cannot run as an error event and keeps going', async () => {
    vi.useFakeTimers();
    const broken: Check = { id: 'b', title: 'b', required: true, dependsOn: ['missing'], run: async () => ok };
    const monitor = new HealthMonitor({ checks: [broken], intervalMs: 1000, now });
    const errors: unknown[] = [];
    monitor.on('error', (e) => errors.push(e));
    monitor.start();
    await vi.advanceTimersByTimeAsync(1000);
    monitor.stop();
    expect(errors).toHaveLength(2);
    expect(String(errors[0])).toContain('depends on "missing"');
  });
});
