import { describe, expect, it } from 'vitest';
import { EventBus } from './event-bus';

describe('EventBus', () => {
  it('stamps each event with its type and time and hands it to every subscriber', () => {
    const bus = new EventBus();
    const seen: unknown[] = [];
    const off = bus.subscribe((e) => seen.push(e));
    const event = bus.publish('request.end', { provider: 'ollama' });
    expect(event).toMatchObject({ type: 'request.end', provider: 'ollama' });
    expect(typeof event.ts).toBe('number');
    off();
    bus.publish('ignored');
    expect(seen).toEqual([event]);
  });

  it('keeps only the most recent events, oldest first', () => {
    const bus = new EventBus({ backlog: 3 });
    for (let i = 1; i <= 5; i++) bus.publish('n', { i });
    expect(bus.recent().map((e) => e.i)).toEqual([3, 4, 5]);
    expect(bus.recent(2).map((e) => e.i)).toEqual([4, 5]);
  });

  it('keeps delivering when one subscriber throws', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('broken subscriber');
    });
    bus.subscribe((e) => seen.push(e.type));
    bus.publish('still-delivered');
    expect(seen).toEqual(['still-delivered']);
  });

  it('publishes a library’s { type } callback events under a prefix', () => {
    const bus = new EventBus();
    const onEvent = bus.listener('evolution');
    onEvent({ type: 'best', candidate: { score: 0.9 } } as { type: string });
    expect(bus.recent()[0]).toMatchObject({ type: 'evolution.best', candidate: { score: 0.9 } });
  });

  it('keeps client events in a ring of their own that never evicts server events', () => {
    const bus = new EventBus({ backlog: 3, clientBacklog: 2 });
    bus.publish('request.end', { id: 'real' });
    for (let i = 1; i <= 50; i++) bus.publishClient('client.flood', { i });
    expect(bus.recent().map((e) => e.id)).toEqual(['real']);
    expect(bus.recentClient().map((e) => e.i)).toEqual([49, 50]);
  });

  it('hands a new subscriber the last events of both rings in time order, bounded', () => {
    const bus = new EventBus();
    bus.publish('a', { ts: 1 });
    bus.publishClient('client.b', { ts: 2 });
    bus.publish('c', { ts: 3 });
    expect(bus.backlog(10).map((e) => e.type)).toEqual(['a', 'client.b', 'c']);
    expect(bus.backlog(2).map((e) => e.type)).toEqual(['client.b', 'c']);
    expect(bus.backlog(0)).toEqual([]);
  });

  it('applies its transform to every event before keeping or delivering it', () => {
    const bus = new EventBus({ transform: (e) => ({ ...e, secret: '[redacted]' }) });
    const seen: unknown[] = [];
    bus.subscribe((e) => seen.push(e.secret));
    bus.publish('x', { secret: 'pw' });
    bus.publishClient('client.y', { secret: 'pw' });
    expect(seen).toEqual(['[redacted]', '[redacted]']);
    expect(bus.recent()[0]?.secret).toBe('[redacted]');
  });
});
