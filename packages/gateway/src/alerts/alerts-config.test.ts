import { ConfigError, parseConfig } from '@unity/llm-router';
import { describe, expect, it } from 'vitest';
import { alertsConfigSchema } from './alerts-config';

const sections = { alerts: alertsConfigSchema };

function problem(yaml: string): { message: string; fix: string | undefined } {
  try {
    parseConfig(yaml, 'system.yaml', sections);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    return { message: error.message, fix: error.fix };
  }
  throw new Error('expected a ConfigError');
}

describe('alertsConfigSchema', () => {
  it('has no rules and no webhooks without an alerts: section', () => {
    expect(parseConfig('', 'system.yaml', sections).alerts).toEqual({
      evaluation_interval_seconds: 15,
      repeat_seconds: 3_600,
      webhooks: [],
      rules: [],
    });
  });

  it('fills in the defaults of each rule kind and webhook', () => {
    const { alerts } = parseConfig(
      [
        'alerts:',
        '  webhooks:',
        '    - url: https://hooks.example.com/T0/B0/secret',
        '      format: slack',
        '  rules:',
        '    - kind: latency_p95',
        '    - kind: provider_down',
        '    - kind: error_rate',
        '      threshold_percent: 5',
        '    - kind: key_budget',
        '      repeat_seconds: 0',
      ].join('\n'),
      'system.yaml',
      sections,
    );
    expect(alerts.webhooks).toEqual([
      {
        url: 'https://hooks.example.com/T0/B0/secret',
        format: 'slack',
        timeout_seconds: 5,
        retries: 3,
        backoff_seconds: 1,
      },
    ]);
    expect(alerts.rules).toEqual([
      { kind: 'latency_p95', threshold_ms: 5_000, window_seconds: 300, min_requests: 5 },
      { kind: 'provider_down', for_seconds: 60 },
      { kind: 'error_rate', threshold_percent: 5, window_seconds: 300, min_requests: 20 },
      { kind: 'key_budget', at_percent: [80, 100], repeat_seconds: 0 },
    ]);
  });

  it('names the line, the field and the kinds there are for an unknown kind', () => {
    const { message, fix } = problem('alerts:\n  rules:\n    - kind: latency\n');
    expect(message).toBe(
      'system.yaml:3: alerts.rules.0.kind: expected one of "latency_p95", "provider_down", "fallback_rate", "error_rate", "key_budget", got "latency"',
    );
    expect(fix).toBe(
      'set alerts.rules.0.kind to one of: latency_p95, provider_down, fallback_rate, error_rate, key_budget',
    );
  });

  it('refuses a key the rule kind does not have, and a missing threshold, naming each path', () => {
    expect(problem('alerts:\n  rules:\n    - kind: latency_p95\n      threshold: 3\n').message).toBe(
      'system.yaml:4: alerts.rules.0: unknown key threshold',
    );
    const missing = problem('alerts:\n  rules:\n    - kind: fallback_rate\n');
    expect(missing.message).toBe('system.yaml:3: alerts.rules.0.threshold_percent: missing number');
    expect(missing.fix).toBe('set alerts.rules.0.threshold_percent');
    const misspelt = problem('alerts:\n  evalution_interval_seconds: 3\n');
    expect(misspelt.fix).toContain('known keys: evaluation_interval_seconds');
  });

  it('refuses two rules of one name, saying how to tell them apart', () => {
    const { message, fix } = problem('alerts:\n  rules:\n    - kind: provider_down\n    - kind: provider_down\n');
    expect(message).toBe('system.yaml:4: alerts.rules.1.name: two rules are named "provider_down" (rules 0 and 1)');
    expect(fix).toBe('give alerts.rules.1 a name of its own (name: provider_down-2)');
  });

  it('refuses a webhook URL that is not http(s) without repeating it (it may hold a secret)', () => {
    const { message, fix } = problem('alerts:\n  webhooks:\n    - url: hooks.slack.com/services/T0/B0/s3cret\n');
    expect(message).toBe('system.yaml:3: alerts.webhooks.0.url: expected an http:// or https:// URL');
    expect(message).not.toContain('s3cret');
    expect(fix).toContain('https://hooks.slack.com/services/');
  });
});
