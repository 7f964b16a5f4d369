/** One live event: a type, a timestamp (ms since the epoch) and any JSON payload. */
export interface BusEvent {
  type: string;
  ts: number;
  [key: string]: unknown;
}

export type BusListener = (event: BusEvent) => void;

export interface EventBusOptions {
  /** How many recent server events are kept for clients that connect later and for /audit (default 500). */
  backlog?: number;
  /**
   * How many recent client-published events are kept (default 100), in a ring of their own: however many a client
   * sends, they never push the server's events (and so /audit) out.
   */
  clientBacklog?: number;
  /** Applied to every event before it is kept or delivered (the gateway redacts secrets with it). */
  transform?: (event: BusEvent) => BusEvent;
}

/** A fixed-size ring of the most recent events. */
class Ring {
  private readonly items: BusEvent[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  push(event: BusEvent): void {
    if (this.capacity <= 0) return;
    if (this.items.length < this.capacity) this.items.push(event);
    else this.items[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  ordered(): BusEvent[] {
    return this.items.length < this.capacity
      ? [...this.items]
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

const last = (events: BusEvent[], limit: number) =>
  limit >= events.length ? events : events.slice(events.length - Math.max(0, limit));

/**
 * A generic publish/subscribe bus for telemetry: anything (the router, the health monitor, the agent loop, the
 * evolution loop) publishes `{ type, ts, ...payload }`; the WebSocket and the dashboard subscribe. Events remote
 * clients send go through `publishClient` and are kept apart. The most recent events are kept so that a new
 * subscriber sees the recent past.
 */
export class EventBus {
  private readonly listeners = new Set<BusListener>();
  private readonly server: Ring;
  private readonly client: Ring;
  private readonly transform: (event: BusEvent) => BusEvent;

  constructor(options: EventBusOptions = {}) {
    this.server = new Ring(Math.max(0, options.backlog ?? 500));
    this.client = new Ring(Math.max(0, options.clientBacklog ?? 100));
    this.transform = options.transform ?? ((event) => event);
  }

  /** Publish a server event (kept in the server's ring). */
  publish(type: string, payload: Record<string, unknown> = {}): BusEvent {
    return this.emit(this.server, type, payload);
  }

  /** Publish an event a remote client sent (kept in the clients' ring). */
  publishClient(type: string, payload: Record<string, unknown> = {}): BusEvent {
    return this.emit(this.client, type, payload);
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

  /** Recent server events, oldest first (client events are not among them: see `backlog`). */
  recent(limit = this.server.capacity): BusEvent[] {
    return last(this.server.ordered(), limit);
  }

  /** Recent client events, oldest first. */
  recentClient(limit = this.client.capacity): BusEvent[] {
    return last(this.client.ordered(), limit);
  }

  /** What a new subscriber is sent first: the last `limit` events of both rings, in time order. */
  backlog(limit: number): BusEvent[] {
    const merged = [...this.server.ordered(), ...this.client.ordered()].sort((a, b) => a.ts - b.ts);
    return last(merged, limit);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  private emit(ring: Ring, type: string, payload: Record<string, unknown>): BusEvent {
    const event = this.transform({ ...payload, type, ts: typeof payload.ts === 'number' ? payload.ts : Date.now() });
    ring.push(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not break publishers or other subscribers.
      }
    }
    return event;
  }
}
