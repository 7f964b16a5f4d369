import { describe, expect, it } from 'vitest';
import { MemoryUsageStore } from './memory-store';
import type { AdmissionRequest } from './store';

const minute = 60_000;
const start = 1_000 * minute; // a window boundary

function request(now: number, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    keyId: 'k',
    reservationId: `r-${Math.random()}`,
    now,
    limits: { period: 'total', rpm: 10 },
    estimatedTokens: 0,
    estimatedMicros: 0,
    reservationTtlMs: minute,
    ...overrides,
  };
}

describe('MemoryUsageStore rate limits (rpm: a sliding log; tpm: a window weighted with the previous one)', () => {
  it('admits rpm requests in a window and refuses the next with the wait until one fits', () => {
    const store = new MemoryUsageStore();
    for (let i = 0; i < 10; i++) expect(store.admitNow(request(start + 1_000)).ok).toBe(true);
    const refused = store.admitNow(request(start + 1_000));
    expect(refused).toMatchObject({ ok: false, limit: 'rpm', used: 10, max: 10, retryAfterMs: minute });
  });

  it('never admits more than rpm in any 60 s, a burst at a minute’s end included', () => {
    const store = new MemoryUsageStore();
    for (let i = 0; i < 10; i++) expect(store.admitNow(request(start + 59_000)).ok).toBe(true);
    // A new fixed window has begun, but the last 60 s still hold 10 requests.
    const refused = store.admitNow(request(start + minute + 1_000));
    expect(refused).toMatchObject({ ok: false, limit: 'rpm', used: 10, retryAfterMs: 58_000 });
    expect(store.admitNow(request(start + minute + 58_999)).ok).toBe(false);
    expect(store.admitNow(request(start + minute + 59_000)).ok).toBe(true);
  });

  it('forgets requests older than a minute', () => {
    const store = new MemoryUsageStore();
    for (let i = 0; i < 10; i++) store.admitNow(request(start));
    for (let i = 0; i < 10; i++) expect(store.admitNow(request(start + minute)).ok).toBe(true);
  });

  it('weighs the previous tpm window by the part of it still inside the last minute', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 1_000 };
    expect(store.admitNow(request(start, { limits, estimatedTokens: 1_000 })).ok).toBe(true);
    // 15 s into the next window: 1 000 × 0.75 = 750 counted, so 250 fit and 251 do not.
    expect(store.admitNow(request(start + minute + 15_000, { limits, estimatedTokens: 251 })).ok).toBe(false);
    expect(store.admitNow(request(start + minute + 15_000, { limits, estimatedTokens: 250 })).ok).toBe(true);
  });

  it('counts estimated tokens against tpm and corrects them to the actual ones at settlement', async () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 1_000 };
    const first = store.admitNow(request(start, { limits, estimatedTokens: 800 }));
    expect(first.ok).toBe(true);
    expect(store.admitNow(request(start, { limits, estimatedTokens: 300 }))).toMatchObject({ ok: false, limit: 'tpm' });
    if (!first.ok) throw new Error('unreachable');
    store.settleNow({
      reservation: first.reservation,
      now: start,
      model: 'm',
      day: 'd',
      inputTokens: 50,
      outputTokens: 50,
      costMicros: 0,
    });
    expect(store.admitNow(request(start, { limits, estimatedTokens: 300 })).ok).toBe(true);
  });

  it('serves a request larger than tpm into an empty window only', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 100 };
    expect(store.admitNow(request(start, { limits, estimatedTokens: 500 })).ok).toBe(true);
    expect(store.admitNow(request(start, { limits, estimatedTokens: 1 })).ok).toBe(false);
  });
});

describe('MemoryUsageStore budgets', () => {
  it('reserves the estimate, refuses once spent + reserved reaches the budget, and releases at settlement', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'p', budgetMicros: 1_000 };
    const a = store.admitNow(request(start, { limits, estimatedMicros: 600 }));
    const b = store.admitNow(request(start, { limits, estimatedMicros: 600 }));
    expect(a.ok && b.ok).toBe(true);
    expect(store.admitNow(request(start, { limits, estimatedMicros: 1 }))).toMatchObject({
      ok: false,
      limit: 'budget',
      used: 1_200,
    });
    if (!a.ok || !b.ok) throw new Error('unreachable');
    const settle = (reservation: typeof a.reservation, costMicros: number) =>
      store.settleNow({ reservation, now: start, model: 'm', day: 'd', inputTokens: 0, outputTokens: 0, costMicros });
    settle(a.reservation, 100);
    settle(b.reservation, 100);
    expect(store.admitNow(request(start, { limits, estimatedMicros: 600 })).ok).toBe(true);
  });

  it('stops counting a reservation nobody settled once its time to live has passed', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'p', budgetMicros: 1_000 };
    expect(store.admitNow(request(start, { limits, estimatedMicros: 5_000 })).ok).toBe(true);
    expect(store.admitNow(request(start + 1, { limits })).ok).toBe(false);
    expect(store.admitNow(request(start + minute, { limits })).ok).toBe(true);
  });

  it('counts spend per period: a new period starts at zero', () => {
    const store = new MemoryUsageStore();
    const admitted = store.admitNow(request(start, { limits: { period: 'day-1', budgetMicros: 10 } }));
    if (!admitted.ok) throw new Error('refused');
    store.settleNow({
      reservation: admitted.reservation,
      now: start,
      model: 'm',
      day: 'day-1',
      inputTokens: 1,
      outputTokens: 1,
      costMicros: 50,
    });
    expect(store.admitNow(request(start, { limits: { period: 'day-1', budgetMicros: 10 } })).ok).toBe(false);
    expect(store.admitNow(request(start, { limits: { period: 'day-2', budgetMicros: 10 } })).ok).toBe(true);
  });
});
