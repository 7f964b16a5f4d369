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
