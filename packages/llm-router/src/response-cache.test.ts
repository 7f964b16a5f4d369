import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cacheKey, ResponseCache } from './response-cache';

describe('ResponseCache', () => {
  it('returns what was stored under the same key', () => {
    const cache = new ResponseCache<{ content: string }>({ maxEntries: 2, ttlMs: 60_000 });
    cache.set('a', { content: 'A' });
    expect(cache.get('a')).toEqual({ content: 'A' });
    expect(cache.get('b')).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its size', () => {
    const cache = new ResponseCache<{ n: number }>({ maxEntries: 2, ttlMs: 60_000 });
    cache.set('a', { n: 1 });
    cache.set('b', { n: 2 });
    cache.get('a');
    cache.set('c', { n: 3 });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual({ n: 1 });
    expect(cache.size).toBe(2);
  });

  it('reads its TTL off an injected clock', () => {
    let now = 1_000;
    const cache = new ResponseCache<{ n: number }>({ maxEntries: 2, ttlMs: 100, now: () => now });
    cache.set('a', { n: 1 });
    now += 100;
    expect(cache.get('a')).toEqual({ n: 1 });
    now += 1;
    expect(cache.get('a')).toBeUndefined();
  });

  it('forgets entries older than the TTL', async () => {
    const cache = new ResponseCache<{ n: number }>({ maxEntries: 2, ttlMs: 5 });
    cache.set('a', { n: 1 });
    await sleep(30);
    expect(cache.get('a')).toBeUndefined();
  });
});

describe('cacheKey', () => {
  it('is equal for equal requests whatever the key order, and differs when any field differs', () => {
    const a = { messages: [{ role: 'user', content: 'hi' }], temperature: 0 };
    const b = { temperature: 0, messages: [{ content: 'hi', role: 'user' }] };
    expect(cacheKey(a)).toBe(cacheKey(b));
    expect(cacheKey(a)).not.toBe(cacheKey({ ...a, temperature: 1 }));
    expect(cacheKey(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores undefined fields', () => {
    expect(cacheKey({ a: 1, b: undefined })).toBe(cacheKey({ a: 1 }));
  });
});

describe('ResponseCache: size and clearing', () => {
  it('counts its entries and forgets them all on clear', () => {
    const cache = new ResponseCache<{ n: number }>({ maxEntries: 3, ttlMs: 60_000 });
    expect(cache.size).toBe(0);
    cache.set('a', { n: 1 });
    cache.set('b', { n: 2 });
    expect(cache.size).toBe(2);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });

  it('replaces the value stored under a key', () => {
    const cache = new ResponseCache<{ n: number }>({ maxEntries: 3, ttlMs: 60_000 });
    cache.set('a', { n: 1 });
    cache.set('a', { n: 2 });
    expect(cache.get('a')).toEqual({ n: 2 });
    expect(cache.size).toBe(1);
  });
});

describe('cacheKey: what tells requests apart', () => {
  it('is the sha256 of the canonical JSON', () => {
    // sha256('{"a":1}')
    expect(cacheKey({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });

  it('differs for arrays in another order, nested values and types', () => {
    expect(cacheKey({ stop: ['a', 'b'] })).not.toBe(cacheKey({ stop: ['b', 'a'] }));
    expect(cacheKey({ tools: [{ name: 'a', parameters: { x: 1 } }] })).not.toBe(
      cacheKey({ tools: [{ name: 'a', parameters: { x: 2 } }] }),
    );
    expect(cacheKey({ n: 1 })).not.toBe(cacheKey({ n: '1' }));
  });
});
