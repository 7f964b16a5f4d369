// The virtual keys' pure parts, as unit tests (they are mutation-tested: see stryker.config.mjs): the key store's
// records, the tpm wait, settlement across windows, spend queries, budget periods and secrets.
import { describe, expect, it } from 'vitest';
import { displayPrefix, hashSecret, newKeyId, newSecret, sameHash } from './key-secret';
import { MemoryKeyStore, MemoryUsageStore } from './memory-store';
import { periodEnd, periodOf, utcDay } from './periods';
import type { AdmissionRequest, KeyRecord, Reservation } from './store';

const minute = 60_000;
const start = 1_000 * minute;

const record = (id: string, hash: string, createdAt: number): KeyRecord => ({
  id,
  name: id,
  hash,
  prefix: `uk-${id}`,
  createdAt,
  budgetPeriod: 'total',
});

describe('MemoryKeyStore', () => {
  it('finds a key by its hash or id, lists by creation time, and refuses a duplicate id or hash', async () => {
    const store = new MemoryKeyStore();
    await store.create(record('b', 'hb', 2));
    await store.create(record('a', 'ha', 1));
    expect(store.findByHashNow('ha')?.id).toBe('a');
    expect((await store.findByHash('hb'))?.id).toBe('b');
    expect(store.findByHashNow('nope')).toBeUndefined();
    expect((await store.get('b'))?.hash).toBe('hb');
    expect(await store.get('zz')).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(['a', 'b']);
    expect(store.size).toBe(2);
    await expect(store.create(record('a', 'other', 3))).rejects.toThrow('key a exists');
    await expect(store.create(record('c', 'ha', 3))).rejects.toThrow('key c exists');
    expect(store.size).toBe(2);
  });

  it('revokes once (a second revocation keeps the first time), and not an unknown key', async () => {
    const store = new MemoryKeyStore();
    await store.create(record('a', 'ha', 1));
    expect(await store.revoke('zz', 5)).toBeUndefined();
    expect((await store.revoke('a', 5))?.revokedAt).toBe(5);
    expect((await store.revoke('a', 9))?.revokedAt).toBe(5);
    expect(store.findByHashNow('ha')?.revokedAt).toBe(5);
  });

  it('rotates: the new hash finds the key, the old one does not; a revoked or unknown key is not rotated', async () => {
    const store = new MemoryKeyStore();
    await store.create(record('a', 'ha', 1));
    const rotated = await store.rotate('a', { hash: 'hn', prefix: 'uk-new' }, 7);
    expect(rotated).toMatchObject({ id: 'a', hash: 'hn', prefix: 'uk-new', rotatedAt: 7 });
    expect(store.findByHashNow('ha')).toBeUndefined();
    expect(store.findByHashNow('hn')?.id).toBe('a');
    expect(await store.rotate('zz', { hash: 'x', prefix: 'x' }, 8)).toBeUndefined();
    await store.revoke('a', 9);
    expect(await store.rotate('a', { hash: 'hx', prefix: 'x' }, 10)).toBeUndefined();
    expect(store.findByHashNow('hx')).toBeUndefined();
  });
});

function admission(now: number, overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    keyId: 'k',
    reservationId: `r-${now}-${Math.random()}`,
    now,
    limits: { period: 'total' },
    estimatedTokens: 0,
    estimatedMicros: 0,
    reservationTtlMs: minute,
    ...overrides,
  };
}

function admitted(store: MemoryUsageStore, request: AdmissionRequest): Reservation {
  const result = store.admitNow(request);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result.reservation;
}

describe('MemoryUsageStore tpm waits and settlement', () => {
  it('says how long until the previous window has decayed enough, to the millisecond', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 1_000 };
    admitted(store, admission(start, { limits, estimatedTokens: 1_000 }));
    // 15 s into the next window 750 still count; 500 fit once previous × (1 − f) ≤ 500, at f = 0.5: 30 s in.
    const refused = store.admitNow(admission(start + minute + 15_000, { limits, estimatedTokens: 500 }));
    expect(refused).toMatchObject({ ok: false, limit: 'tpm', used: 750, max: 1_000, retryAfterMs: 15_000 });
  });

  it('waits for the next window when the current window alone is too full', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 1_000 };
    admitted(store, admission(start + 10_000, { limits, estimatedTokens: 900 }));
    const refused = store.admitNow(admission(start + 20_000, { limits, estimatedTokens: 200 }));
    expect(refused).toMatchObject({ ok: false, limit: 'tpm', used: 900, retryAfterMs: 40_000 });
  });

  it('corrects the previous window when a request settles after its window has passed', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 1_000 };
    const reservation = admitted(store, admission(start, { limits, estimatedTokens: 1_000 }));
    // The next window begins with the whole estimate as its previous one …
    expect(store.admitNow(admission(start + minute, { limits, estimatedTokens: 1 })).ok).toBe(false);
    store.settleNow({
      reservation,
      now: start + minute,
      model: 'm',
      day: 'd',
      inputTokens: 5,
      outputTokens: 5,
      costMicros: 0,
    });
    // … corrected to the 10 tokens actually used.
    expect(store.admitNow(admission(start + minute, { limits, estimatedTokens: 990 })).ok).toBe(true);
  });

  it('never counts below zero when the answer used fewer tokens than estimated', () => {
    const store = new MemoryUsageStore();
    const limits = { period: 'total', tpm: 100 };
    const reservation = admitted(store, admission(start, { limits, estimatedTokens: 10 }));
    store.settleNow({ reservation, now: start, model: 'm', day: 'd', inputTokens: 0, outputTokens: 0, costMicros: 0 });
    admitted(store, admission(start, { limits, estimatedTokens: 100 }));
    expect(store.admitNow(admission(start, { limits, estimatedTokens: 1 })).ok).toBe(false);
  });

  it("counts each key's reservations against its own budget only, until they expire", async () => {
    const store = new MemoryUsageStore();
    admitted(store, admission(start, { keyId: 'a', estimatedMicros: 300 }));
    admitted(store, admission(start, { keyId: 'b', estimatedMicros: 50 }));
    expect(await store.budgetState('a', 'total', start)).toEqual({ spentMicros: 0, reservedMicros: 300 });
    expect(await store.budgetState('b', 'total', start + 1)).toEqual({ spentMicros: 0, reservedMicros: 50 });
    expect(await store.budgetState('a', 'total', start + minute)).toEqual({ spentMicros: 0, reservedMicros: 0 });
  });
});

describe('MemoryUsageStore spend', () => {
  async function withSpend() {
    const store = new MemoryUsageStore();
    const settle = (keyId: string, model: string, day: string, cost: number) => {
      const reservation = admitted(store, admission(start, { keyId }));
      store.settleNow({ reservation, now: start, model, day, inputTokens: 2, outputTokens: 3, costMicros: cost });
    };
    settle('b', 'm1', '2026-12-02', 10);
    settle('a', 'm2', '2026-12-01', 20);
    settle('a', 'm1', '2026-12-01', 30);
    settle('a', 'm1', '2026-12-01', 40);
    settle('a', 'm1', '2026-12-03', 50);
    return store;
  }

  it('sums requests, tokens and cost per key, model and day, sorted by day, key and model', async () => {
    const rows = await (await withSpend()).spend();
    expect(rows.map((r) => [r.day, r.keyId, r.model, r.requests, r.inputTokens, r.outputTokens, r.costMicros])).toEqual(
      [
        ['2026-12-01', 'a', 'm1', 2, 4, 6, 70],
        ['2026-12-01', 'a', 'm2', 1, 2, 3, 20],
        ['2026-12-02', 'b', 'm1', 1, 2, 3, 10],
        ['2026-12-03', 'a', 'm1', 1, 2, 3, 50],
      ],
    );
    expect(await (await withSpend()).budgetState('a', 'total', start)).toEqual({ spentMicros: 140, reservedMicros: 0 });
  });

  it('filters by key and by an inclusive range of days, and hands out copies', async () => {
    const store = await withSpend();
    expect((await store.spend({ keyId: 'b' })).map((r) => r.costMicros)).toEqual([10]);
    expect((await store.spend({ fromDay: '2026-12-02' })).map((r) => r.day)).toEqual(['2026-12-02', '2026-12-03']);
    expect((await store.spend({ toDay: '2026-12-02' })).map((r) => r.day)).toEqual([
      '2026-12-01',
      '2026-12-01',
      '2026-12-02',
    ]);
    expect(await store.spend({ keyId: 'a', fromDay: '2026-12-02', toDay: '2026-12-02' })).toEqual([]);
    const [first] = await store.spend();
    if (first) first.costMicros = 0;
    expect((await store.spend())[0]?.costMicros).toBe(70);
  });
});

describe('budget periods', () => {
  // Wednesday 2026-12-09 15:30 UTC.
  const now = Date.UTC(2026, 11, 9, 15, 30);

  it('names the day, the ISO week by its Monday, the month, or total', () => {
    expect(utcDay(now)).toBe('2026-12-09');
    expect(periodOf('day', now)).toBe('2026-12-09');
    expect(periodOf('week', now)).toBe('week-2026-12-07');
    expect(periodOf('week', Date.UTC(2026, 11, 7))).toBe('week-2026-12-07');
    expect(periodOf('week', Date.UTC(2026, 11, 13, 23, 59))).toBe('week-2026-12-07');
    expect(periodOf('week', Date.UTC(2026, 11, 14))).toBe('week-2026-12-14');
    expect(periodOf('month', now)).toBe('2026-12');
    expect(periodOf('total', now)).toBe('total');
  });

  it('says when each period ends: midnight, next Monday, the first of next month, never', () => {
    expect(periodEnd('day', now)).toBe(Date.UTC(2026, 11, 10));
    expect(periodEnd('week', now)).toBe(Date.UTC(2026, 11, 14));
    expect(periodEnd('week', Date.UTC(2026, 11, 14))).toBe(Date.UTC(2026, 11, 21));
    expect(periodEnd('month', now)).toBe(Date.UTC(2027, 0, 1));
    expect(periodEnd('month', Date.UTC(2026, 1, 10))).toBe(Date.UTC(2026, 2, 1));
    expect(periodEnd('total', now)).toBeUndefined();
  });
});

describe('key secrets', () => {
  it('makes uk- secrets of 256 random bits, different each time, with ids of their own', () => {
    const a = newSecret();
    const b = newSecret();
    expect(a).toMatch(/^uk-[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(newKeyId()).toMatch(/^key_[0-9a-f]{16}$/);
    expect(newKeyId()).not.toBe(newKeyId());
  });

  it('hashes with sha256 (hex), shows only the first characters, and compares hashes exactly', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(displayPrefix('uk-abcdefghij')).toBe('uk-abcdef…');
    const h = hashSecret('x');
    expect(sameHash(h, hashSecret('x'))).toBe(true);
    expect(sameHash(h, hashSecret('y'))).toBe(false);
    expect(sameHash(h, h.slice(0, 62))).toBe(false);
  });
});
