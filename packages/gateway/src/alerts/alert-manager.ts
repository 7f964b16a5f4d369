import { describeError } from '@unity/core';
import type { BusEvent, EventBus } from '../event-bus';
import { ProviderAvailability } from '../provider-availability';
import { evaluateRule, type KeyBudget } from './alert-rules';
import { type ActiveAlert, type AlertNotification, AlertStates } from './alert-state';
import { type AlertsConfig, ruleNameOf } from './alerts-config';
import { RequestWindow } from './request-window';
import { type DeliveryOutcome, WebhookSender, webhookTargetOf } from './webhook-delivery';

/** The virtual keys' budgets (`VirtualKeys`, whose `list()` never holds a secret). */
export interface BudgetSource {
  list(): Promise<readonly KeyBudget[]>;
}

export interface AlertManagerOptions {
  /** The `alerts:` section. */
  config: AlertsConfig;
  /** Where requests, breaker and health changes are heard, and where `alert.*` events are published. */
  bus: EventBus;
  /** The virtual keys, for `key_budget` rules. */
  budgets?: BudgetSource;
  /** Providers followed from the start (so that one down before its first event is still seen). */
  providers?: readonly string[];
  /**
   * The providers' availability, shared with /metrics and fed by its owner (`availability.observe` on the bus). Without
   * it the manager keeps its own, fed from the bus while it runs.
   */
  availability?: ProviderAvailability;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Applied to every notification before it leaves the process (the gateway's redaction of secrets). */
  redact?: <T>(value: T) => T;
  /** How many recent notifications `recent()` keeps (default 200). */
  keepRecent?: number;
}

/** What `GET /api/alerts` lists. */
export interface AlertsView {
  rules(): string[];
  active(): ActiveAlert[];
  /** Notifications after `afterSeq`, oldest first. */
  recent(afterSeq?: number): AlertNotification[];
}

/**
 * The gateway's alerting: it follows the live feed (`request.end`, `router.breaker`, `health.change`), evaluates the
 * configured rules every `evaluation_interval_seconds`, and hands each notification of the state machine
 * (fired, repeat, resolved) to the live feed as `alert.<transition>` and to every webhook. Webhooks come from the config
 * only: nothing a client sends reaches them.
 */
export class AlertManager implements AlertsView {
  private readonly config: AlertsConfig;
  private readonly bus: EventBus;
  private readonly now: () => number;
  private readonly states: AlertStates;
  private readonly requests: RequestWindow;
  private readonly providers: ProviderAvailability;
  /** Whether `providers` is this manager's own, to feed from the bus (else its owner feeds it). */
  private readonly feedsProviders: boolean;
  private readonly senders: WebhookSender[];
  private readonly redact: <T>(value: T) => T;
  private readonly keepRecent: number;
  private readonly history: AlertNotification[] = [];
  private unsubscribe: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private round: Promise<AlertNotification[]> = Promise.resolve([]);
  private running = false;

  constructor(private readonly options: AlertManagerOptions) {
    this.config = options.config;
    this.bus = options.bus;
    this.now = options.now ?? Date.now;
    this.redact = options.redact ?? ((value) => value);
    this.keepRecent = options.keepRecent ?? 200;
    const rules = new Map(this.config.rules.map((rule) => [ruleNameOf(rule), rule]));
    this.states = new AlertStates({
      now: this.now,
      repeatMs: (name) => (rules.get(name)?.repeat_seconds ?? this.config.repeat_seconds) * 1000,
    });
    const longestWindow = Math.max(
      0,
      ...this.config.rules.map((rule) => ('window_seconds' in rule ? rule.window_seconds * 1000 : 0)),
    );
    this.requests = new RequestWindow(longestWindow);
    this.feedsProviders = options.availability === undefined;
    this.providers = options.availability ?? new ProviderAvailability({ now: this.now });
    for (const provider of options.providers ?? []) this.providers.track(provider);
    this.senders = this.config.webhooks.map(
      (hook, index) => new WebhookSender(webhookTargetOf(hook, index), (outcome) => this.delivered(outcome)),
    );
  }

  /** Follow the live feed and evaluate on schedule until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.bus.subscribe((event) => this.observe(event));
    this.schedule();
  }

  /** Stop evaluating; wait up to `graceMs` for deliveries under way, then abort them. */
  async stop(graceMs = 2_000): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
    await this.round.catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.senders.map((sender) => sender.idle())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    for (const sender of this.senders) sender.close();
  }

  /** Hear one event of the live feed (the server's own: a client cannot publish these types). */
  observe(event: BusEvent): void {
    if (event.type === 'request.end') {
      this.requests.record({
        at: event.ts,
        ms: Number(event.ms) || 0,
        status: Number(event.status) || 0,
        fallback: event.fallback === true,
      });
    } else if (this.feedsProviders) {
      this.providers.observe(event);
    }
  }

  /** Evaluate every rule once now (rounds never overlap) and notify; resolves to the notifications made. */
  evaluate(): Promise<AlertNotification[]> {
    this.round = this.round.catch(() => []).then(() => this.evaluateOnce());
    return this.round;
  }

  /** Wait until every webhook delivery queued so far has ended. */
  async deliveriesIdle(): Promise<void> {
    await Promise.all(this.senders.map((sender) => sender.idle()));
  }

  rules(): string[] {
    return this.config.rules.map(ruleNameOf);
  }

  active(): ActiveAlert[] {
    return this.redact(this.states.active());
  }

  recent(afterSeq = 0): AlertNotification[] {
    return this.history.filter((n) => n.seq > afterSeq);
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.evaluate().finally(() => this.schedule());
    }, this.config.evaluation_interval_seconds * 1000);
    this.timer.unref?.();
  }

  private async evaluateOnce(): Promise<AlertNotification[]> {
    const keys = await this.budgets();
    const now = this.now();
    const made: AlertNotification[] = [];
    for (const rule of this.config.rules) {
      if (rule.kind === 'key_budget' && keys === undefined) continue;
      const holding = evaluateRule(rule, {
        now,
        requests: this.requests,
        providers: this.providers,
        ...(keys ? { keys } : {}),
      });
      for (const notification of this.states.update(ruleNameOf(rule), holding)) {
        made.push(this.notify(this.redact(notification)));
      }
    }
    return made;
  }

  /** The keys' budgets, when a rule needs them; undefined when they cannot be read (the rule keeps its state). */
  private async budgets(): Promise<readonly KeyBudget[] | undefined> {
    if (!this.options.budgets || !this.config.rules.some((rule) => rule.kind === 'key_budget')) return [];
    try {
      return await this.options.budgets.list();
    } catch (error) {
      this.bus.publish('alert.error', { message: `cannot read the virtual keys' budgets: ${describeError(error)}` });
      return undefined;
    }
  }

  private notify(notification: AlertNotification): AlertNotification {
    this.history.push(notification);
    if (this.history.length > this.keepRecent) this.history.splice(0, this.history.length - this.keepRecent);
    this.bus.publish(`alert.${notification.transition}`, { ...notification });
    for (const sender of this.senders) sender.send(notification);
    return notification;
  }

  private delivered(outcome: DeliveryOutcome): void {
    if (!outcome.ok) this.bus.publish('alert.delivery-failed', { ...outcome });
  }
}
