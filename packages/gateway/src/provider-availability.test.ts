import { describe, expect, it } from 'vitest';
import { ProviderAvailability } from './provider-availability';

function availability(windowMs = 1_000) {
  const clock = { now: 10_000 };
  const providers = new ProviderAvailability({ now: () => clock.now, windowMs });
  return { clock, providers };
}

describe('ProviderAvailability', () => {
  it('counts a tracked provider up until its breaker opens, and down until it closes again', () => {
    const { clock, providers } = availability();
    providers.track('openai');
    expect(providers.isUp('openai')).toBe(true);
    clock.now += 100;
    providers.breakerChanged('openai', 'open');
    expect(providers.isUp('openai')).toBe(false);
    expect(providers.downSince('openai')).toBe(10_100);
    clock.now += 100;
    providers.breakerChanged('openai', 'half-open');
    expect(providers.downSince('openai')).toBe(10_100);
    providers.breakerChanged('openai', 'closed');
    expect(providers.isUp('openai')).toBe(true);
    expect(providers.downSince('openai')).toBeUndefined();
  });

  it('is down while any health check naming the provider is down', () => {
    const { providers } = availability();
    providers.healthChanged('ollama', 'ollama-reachable', false);
    providers.healthChanged('ollama', 'model:qwen', false);
    providers.healthChanged('ollama', 'ollama-reachable', true);
    expect(providers.isUp('ollama')).toBe(false);
    providers.healthChanged('ollama', 'model:qwen', true);
    expect(providers.isUp('ollama')).toBe(true);
  });

  it('gives the share of the window the provider was up, forgetting what is older than the window', () => {
    const { clock, providers } = availability(1_000);
    providers.track('openai');
    clock.now += 600;
    providers.breakerChanged('openai', 'open');
    clock.now += 200;
    expect(providers.ratio('openai')).toBeCloseTo(600 / 800);
    providers.breakerChanged('openai', 'closed');
    clock.now += 200;
    expect(providers.ratio('openai')).toBeCloseTo(800 / 1_000);
    clock.now += 900;
    // The window is now [10 900, 11 900]: the outage (10 600 – 10 800) has left it.
    expect(providers.ratio('openai')).toBe(1);
    providers.breakerChanged('openai', 'open');
    clock.now += 2_000;
    expect(providers.ratio('openai')).toBe(0);
  });

  it('answers up, and a ratio of 1, for a provider it never heard of', () => {
    const { providers } = availability();
    expect(providers.isUp('nobody')).toBe(true);
    expect(providers.ratio('nobody')).toBe(1);
    expect(providers.providers()).toEqual([]);
  });
});
