import type { AlertKind } from './alerts-config';

/** An alert that holds now, as a rule's evaluation finds it. */
export interface AlertCondition {
  /** Stable across evaluations: the rule's name, and the subject for a rule about many (`provider-down:openai`). */
  id: string;
  /** The rule's name. */
  rule: string;
  kind: AlertKind;
  /** What the alert is about, for rules about many: a provider id, a virtual key's id. */
  subject?: string;
  /** One line for people: "p95 latency 6200 ms over the last 300 s is above 5000 ms (12 requests)". */
  summary: string;
  /** The figures behind it (value, threshold, window, counts…). */
  details: Record<string, string | number | boolean | null>;
}

/** fired: it became active; repeat: still active, on schedule; resolved: no longer active. */
export type AlertTransition = 'fired' | 'repeat' | 'resolved';

/** One notification, as delivered to webhooks, published on /ws and listed by `GET /api/alerts`. */
export interface AlertNotification extends AlertCondition {
  /** Increases by one with every notification of this gateway process. */
  seq: number;
  transition: AlertTransition;
  status: 'firing' | 'resolved';
  /** When the alert became active, and when this notification was made (ISO 8601). */
  startedAt: string;
  at: string;
  /** Notifications of this alert so far, this one included (1 when it fires). */
  count: number;
}

/** An alert active now. */
export interface ActiveAlert extends AlertCondition {
  startedAt: string;
  /** When it was last notified (fired or repeated). */
  notifiedAt: string;
  count: number;
}

interface AlertState {
  condition: AlertCondition;
  startedAt: number;
  notifiedAt: number;
  count: number;
}

interface AlertStatesOptions {
  /** How long, in ms, before an active alert of this rule is notified again; 0: never. */
  repeatMs: (rule: string) => number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The alerts' state machine. Each evaluation of a rule hands in the alerts that hold now; an alert not active before
 * fires (one notification), one still active repeats when its rule's interval has passed since it was last notified,
 * and one of the rule's alerts that no longer holds resolves (one notification) and is forgotten — so a later
 * return fires again.
 */
export class AlertStates {
  private readonly alerts = new Map<string, AlertState>();
  private readonly now: () => number;
  private seq = 0;

  constructor(private readonly options: AlertStatesOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The alerts of `rule` that hold now (each id once): the notifications they call for, in order. */
  update(rule: string, holding: readonly AlertCondition[]): AlertNotification[] {
    const now = this.now();
    const notifications: AlertNotification[] = [];
    const current = new Set<string>();
    for (const condition of holding) {
      current.add(condition.id);
      const state = this.alerts.get(condition.id);
      if (!state) {
        const fresh: AlertState = { condition, startedAt: now, notifiedAt: now, count: 1 };
        this.alerts.set(condition.id, fresh);
        notifications.push(this.notification(fresh, 'fired', now));
        continue;
      }
      state.condition = condition;
      const repeatMs = this.options.repeatMs(rule);
      if (repeatMs > 0 && now - state.notifiedAt >= repeatMs) {
        state.notifiedAt = now;
        state.count += 1;
        notifications.push(this.notification(state, 'repeat', now));
      }
    }
    for (const [id, state] of this.alerts) {
      if (state.condition.rule !== rule || current.has(id)) continue;
      this.alerts.delete(id);
      state.count += 1;
      notifications.push(this.notification(state, 'resolved', now));
    }
    return notifications;
  }

  /** The active alerts, oldest first. */
  active(): ActiveAlert[] {
    return [...this.alerts.values()]
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((state) => ({
        ...state.condition,
        startedAt: iso(state.startedAt),
        notifiedAt: iso(state.notifiedAt),
        count: state.count,
      }));
  }

  private notification(state: AlertState, transition: AlertTransition, now: number): AlertNotification {
    this.seq += 1;
    return {
      ...state.condition,
      seq: this.seq,
      transition,
      status: transition === 'resolved' ? 'resolved' : 'firing',
      startedAt: iso(state.startedAt),
      at: iso(now),
      count: state.count,
    };
  }
}
