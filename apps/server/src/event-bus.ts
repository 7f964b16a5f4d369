/** One live event: a type, a timestamp (ms since the epoch) and any JSON payload. */
export interface BusEvent {
  type: string;
  ts: number;
  [key: string]: unknown;
}

export type BusListener = (event: BusEvent) => void;

export interface EventBusOptions {
  /** How many recent events are kept for clients that connect later (default 500). */
  backlog?: number;
}

/**
 * A generic publish/subscribe bus for telemetry: anything (the router, the health monitor, the agent loop, the
 * evolution loop, a remote client) publishes `{ type, ts, ...payload }`; the WebSocket and the dashboard subscribe.
 * The most recent events are kept so that a new subscriber sees the recent past.
 */
export class EventBus {
  private readonly listeners = new Set<BusListener>();
  private readonly ring: BusEvent[] = [];
  private readonly capacity: number;
  private next = 0;

  constructor(options: EventBusOptions = {}) {
    this.capacity = Math.max(0, options.backlog ?? 500);
  }

  publish(type: string, payload: Record<string, unknown> = {}): BusEvent {
    const event: BusEvent = { ...payload, type, ts: typeof payload.ts === 'number' ? payload.ts : Date.now() };
    if (this.capacity > 0) {
      if (this.ring.length < this.capacity) this.ring.push(event);
      else this.ring[this.next] = event;
      this.next = (this.next + 1) % this.capacity;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not break publishers or other subscribers.
      }
    }
    return event;
  }

  /**
   * A listener for libraries that report `{ type, ... }` events through a callback (the agent loop's steps, the
   * evolution loop's generations): each is published as `<prefix>.<type>`, e.g. `agent.tool-call`.
   */
  listener(prefix: string): (event: { type: string }) => void {
    return (event) => {
      const { type, ...payload } = event as { type: string } & Record<string, unknown>;
      this.publish(`${prefix}.${type}`, payload);
    };
  }

  /** Subscribe; returns the unsubscribe function. */
  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Recent events, oldest first. */
  recent(limit = this.capacity): BusEvent[] {
    const ordered =
      this.ring.length < this.capacity
        ? [...this.ring]
        : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return limit >= ordered.length ? ordered : ordered.slice(ordered.length - limit);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
