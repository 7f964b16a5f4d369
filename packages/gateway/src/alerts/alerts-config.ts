import { z } from 'zod';

/** A rule's or a webhook's name: what notifications, events and `/api/alerts` call it. */
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, ".", "_" and "-" (e.g. slow-requests)');

/** How long, in seconds, over which a rate or a percentile is computed. */
const windowSeconds = z.number().positive().default(300);

const ruleCommon = {
  /** Unique among the rules (default: the kind). */
  name: name.optional(),
  /** Repeat the notification this often while the alert stays active; 0: never (default: `alerts.repeat_seconds`). */
  repeat_seconds: z.number().min(0).optional(),
};

const latencyRule = z.strictObject({
  ...ruleCommon,
  kind: z.literal('latency_p95'),
  /** The 95th percentile of the chat requests' wall time above which the alert is active (the seed's 5 s). */
  threshold_ms: z.number().positive().default(5_000),
  window_seconds: windowSeconds,
  /** Requests the window must hold before the percentile means anything. */
  min_requests: z.number().int().positive().default(5),
});

const providerDownRule = z.strictObject({
  ...ruleCommon,
  kind: z.literal('provider_down'),
  /** How long a provider must stay down (breaker open, or a health check naming it down) before the alert fires. */
  for_seconds: z.number().min(0).default(60),
  /** The router's provider ids to watch (`openai`, `minimax`, `ollama`, `llamacpp`); default: every one served. */
  providers: z.array(z.string().min(1)).min(1).optional(),
});

const rateRule = <K extends 'fallback_rate' | 'error_rate'>(kind: K) =>
  z.strictObject({
    ...ruleCommon,
    kind: z.literal(kind),
    /** The share of the window's requests, in percent, above which the alert is active. */
    threshold_percent: z.number().min(0).max(100),
    window_seconds: windowSeconds,
    /** Requests the window must hold before the rate counts (a single failure is not a 100% error rate). */
    min_requests: z.number().int().positive().default(20),
  });

const keyBudgetRule = z.strictObject({
  ...ruleCommon,
  kind: z.literal('key_budget'),
  /** Percentages of a virtual key's budget (for its current period) at which an alert fires, each its own alert. */
  at_percent: z.array(z.number().positive().max(1_000)).min(1).default([80, 100]),
  /** The key ids (`key_…`) or names to watch; default: every key with a budget. */
  keys: z.array(z.string().min(1)).min(1).optional(),
});

const alertKinds = ['latency_p95', 'provider_down', 'fallback_rate', 'error_rate', 'key_budget'] as const;
export type AlertKind = (typeof alertKinds)[number];

/** The kind is checked first, so that a wrong one is named with the kinds there are (and the line it is on). */
const ruleSchema = z
  .looseObject({ kind: z.enum(alertKinds) })
  .pipe(
    z.discriminatedUnion('kind', [
      latencyRule,
      providerDownRule,
      rateRule('fallback_rate'),
      rateRule('error_rate'),
      keyBudgetRule,
    ]),
  );

/** An http(s) URL (config only: no API call can add or change one). */
const webhookUrl = z.string().superRefine((value, ctx) => {
  let protocol = '';
  try {
    protocol = new URL(value).protocol;
  } catch {
    // not a URL at all
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    ctx.addIssue({
      code: 'custom',
      // The value is not repeated: a webhook URL often holds its secret (Slack's do).
      message: 'expected an http:// or https:// URL',
      params: { fix: 'set url to the address of the receiver, such as https://hooks.slack.com/services/…' },
    });
  }
});

const webhookSchema = z.strictObject({
  /** Named in delivery-failure events instead of the URL, which often holds a secret (default: webhook-<n>). */
  name: name.optional(),
  url: webhookUrl,
  /** `json`: the notification as it is; `slack`: `{ "text": "…" }`, which Slack, Mattermost and Discord's /slack take. */
  format: z.enum(['json', 'slack']).default('json'),
  /** One attempt may take this long. */
  timeout_seconds: z.number().positive().default(5),
  /** Attempts after a failed one (an error, a timeout, a 408, 429 or 5xx answer), with exponential backoff. */
  retries: z.number().int().min(0).max(10).default(3),
  /** The first retry's delay; each next one doubles it, with jitter, up to 30 s. */
  backoff_seconds: z.number().positive().default(1),
});

/**
 * The `alerts:` section of the Unity config, validated by `loadConfig({ sections: { alerts: alertsConfigSchema } })`
 * so that errors name the file, line and field. Rules are evaluated by the gateway every
 * `evaluation_interval_seconds`; each fires once when it becomes active, repeats every `repeat_seconds` while active,
 * and resolves once. Notifications go to the webhooks, the live feed (`alert.*` events on /ws), the dashboard and
 * `GET /api/alerts`.
 */
export const alertsConfigSchema = z
  .strictObject({
    /** How often the rules are evaluated. */
    evaluation_interval_seconds: z.number().positive().default(15),
    /** The default repeat interval of an active alert (a rule's own `repeat_seconds` wins); 0: never repeat. */
    repeat_seconds: z.number().min(0).default(3_600),
    webhooks: z.array(webhookSchema).default([]),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((alerts, ctx) => {
    const seen = new Map<string, number>();
    alerts.rules.forEach((rule, index) => {
      const ruleName = rule.name ?? rule.kind;
      const first = seen.get(ruleName);
      if (first === undefined) seen.set(ruleName, index);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', index, 'name'],
          message: `two rules are named "${ruleName}" (rules ${first} and ${index})`,
          params: { fix: `give alerts.rules.${index} a name of its own (name: ${ruleName}-2)` },
        });
      }
    });
    const hooks = new Set<string>();
    alerts.webhooks.forEach((hook, index) => {
      const hookName = hook.name ?? `webhook-${index + 1}`;
      if (hooks.has(hookName)) {
        ctx.addIssue({
          code: 'custom',
          path: ['webhooks', index, 'name'],
          message: `two webhooks are named "${hookName}"`,
          params: { fix: `give alerts.webhooks.${index} a name of its own` },
        });
      }
      hooks.add(hookName);
    });
  })
  .prefault({});

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type AlertRuleConfig = AlertsConfig['rules'][number];
export type WebhookConfig = AlertsConfig['webhooks'][number];

/** A rule's name: its own, else its kind. */
export const ruleNameOf = (rule: AlertRuleConfig): string => rule.name ?? rule.kind;

/** A webhook's name: its own, else `webhook-<n>` (1-based). */
export const webhookNameOf = (hook: WebhookConfig, index: number): string => hook.name ?? `webhook-${index + 1}`;
