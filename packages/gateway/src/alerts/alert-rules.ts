import type { ProviderAvailability } from '../provider-availability';
import type { AlertCondition } from './alert-state';
import { type AlertRuleConfig, ruleNameOf } from './alerts-config';
import type { RequestWindow } from './request-window';

/** A virtual key's budget as the key store reports it (`VirtualKeys.list()`): never its secret. */
export interface KeyBudget {
  id: string;
  name: string;
  status: 'active' | 'expired' | 'revoked';
  budget_usd: number | null;
  budget_period: string;
  spent_usd: number;
}

/** What the rules are evaluated against, at `now`. */
export interface RuleInputs {
  now: number;
  requests: RequestWindow;
  providers: ProviderAvailability;
  /** The virtual keys, for `key_budget` rules (absent: the gateway has no key store). */
  keys?: readonly KeyBudget[];
}

const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;
const money = (usd: number) => `$${usd.toFixed(2)}`;

/** The alerts a rule finds active now (none, or one per subject). */
export function evaluateRule(rule: AlertRuleConfig, inputs: RuleInputs): AlertCondition[] {
  const name = ruleNameOf(rule);
  switch (rule.kind) {
    case 'latency_p95': {
      const stats = inputs.requests.stats(rule.window_seconds * 1000, inputs.now);
      if (stats.requests < rule.min_requests || stats.p95Ms === undefined || stats.p95Ms <= rule.threshold_ms)
        return [];
      return [
        {
          id: name,
          rule: name,
          kind: rule.kind,
          summary: `p95 latency ${round(stats.p95Ms)} ms over the last ${rule.window_seconds} s is above ${rule.threshold_ms} ms (${stats.requests} requests)`,
          details: {
            p95_ms: round(stats.p95Ms, 2),
            threshold_ms: rule.threshold_ms,
            window_seconds: rule.window_seconds,
            requests: stats.requests,
          },
        },
      ];
    }
    case 'fallback_rate':
    case 'error_rate': {
      const stats = inputs.requests.stats(rule.window_seconds * 1000, inputs.now);
      if (stats.requests < rule.min_requests) return [];
      const counted = rule.kind === 'fallback_rate' ? stats.fallbacks : stats.errors;
      const percent = (100 * counted) / stats.requests;
      if (percent <= rule.threshold_percent) return [];
      const what = rule.kind === 'fallback_rate' ? 'fallback' : 'error';
      return [
        {
          id: name,
          rule: name,
          kind: rule.kind,
          summary: `${what} rate ${round(percent, 1)}% over the last ${rule.window_seconds} s is above ${rule.threshold_percent}% (${counted} of ${stats.requests} requests)`,
          details: {
            percent: round(percent, 2),
            threshold_percent: rule.threshold_percent,
            window_seconds: rule.window_seconds,
            requests: stats.requests,
            [rule.kind === 'fallback_rate' ? 'fallbacks' : 'errors']: counted,
          },
        },
      ];
    }
    case 'provider_down': {
      const providers = rule.providers ?? inputs.providers.providers();
      return providers.flatMap((provider): AlertCondition[] => {
        const since = inputs.providers.downSince(provider);
        if (since === undefined) return [];
        const downMs = inputs.now - since;
        if (downMs < rule.for_seconds * 1000) return [];
        return [
          {
            id: `${name}:${provider}`,
            rule: name,
            kind: rule.kind,
            subject: provider,
            summary: `provider ${provider} has been down for ${Math.round(downMs / 1000)} s (since ${new Date(since).toISOString()})`,
            details: {
              provider,
              down_since: new Date(since).toISOString(),
              down_seconds: round(downMs / 1000, 1),
              for_seconds: rule.for_seconds,
            },
          },
        ];
      });
    }
    case 'key_budget': {
      const wanted = rule.keys ? new Set(rule.keys) : undefined;
      return (inputs.keys ?? []).flatMap((key): AlertCondition[] => {
        const budget = key.budget_usd;
        if (key.status !== 'active' || budget === null || budget <= 0) return [];
        if (wanted && !wanted.has(key.id) && !wanted.has(key.name)) return [];
        const percent = (100 * key.spent_usd) / budget;
        const period = key.budget_period === 'total' ? '' : ` per ${key.budget_period}`;
        return rule.at_percent
          .filter((threshold) => percent >= threshold)
          .map((threshold) => ({
            id: `${name}:${key.id}:${threshold}`,
            rule: name,
            kind: rule.kind,
            subject: key.id,
            summary: `virtual key "${key.name}" (${key.id}) has spent ${money(key.spent_usd)} of its ${money(budget)} budget${period} (${round(percent)}%), reaching ${threshold}%`,
            details: {
              key_id: key.id,
              key_name: key.name,
              spent_usd: key.spent_usd,
              budget_usd: budget,
              budget_period: key.budget_period,
              percent: round(percent, 2),
              threshold_percent: threshold,
            },
          }));
      });
    }
  }
}
