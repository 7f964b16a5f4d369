import type { BreakerAnnouncement, BreakerChannel } from '@unity/llm-router';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis-connection';
import type { RedisFailurePolicy } from './redis-failure-policy';

/**
 * Record an opened circuit (provider → "until:origin", keeping the later `until`) and publish it, in one step.
 * KEYS[1] the circuits hash; ARGV[1] channel, ARGV[2] provider, ARGV[3] until (epoch ms), ARGV[4] origin,
 * ARGV[5] the message.
 */
const announceScript = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[2])
local open_until = tonumber(ARGV[3])
if current and tonumber(string.match(current, '^(%d+)')) >= open_until then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. ':' .. ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[5])
return 1
`);

interface Message extends BreakerAnnouncement {
  origin: string;
}

const isMessage = (value: unknown): value is Message => {
  const m = value as Partial<Message> | null;
  return typeof m?.provider === 'string' && typeof m.until === 'number' && typeof m.origin === 'string';
};

interface RedisBreakerChannelOptions {
  connection: RedisConnection;
  policy: RedisFailurePolicy;
  /** This replica's id: its own announcements are not delivered back to it. */
  replicaId: string;
  now?: () => number;
  /** How often the open circuits are read again, for announcements missed during a reconnect (default 5 s). */
  sweepMs?: number;
}

/**
 * Circuits opened by one replica, seen by every other through Redis: each announcement is published on a channel
 * (delivered at once to the replicas listening) and kept in a hash, which a replica reads when it (re)connects and
 * every few seconds — so a replica started, or cut off, while a circuit was open skips that provider too.
 */
export class RedisBreakerChannel implements BreakerChannel {
  private readonly channel: string;
  private readonly circuits: string;
  private readonly now: () => number;

  constructor(private readonly options: RedisBreakerChannelOptions) {
    this.channel = `${options.connection.keyPrefix}breakers`;
    this.circuits = `${options.connection.keyPrefix}breakers:open`;
    this.now = options.now ?? Date.now;
  }

  announce(opened: BreakerAnnouncement): void {
    const { connection, policy, replicaId } = this.options;
    const message: Message = { provider: opened.provider, until: opened.until, origin: replicaId };
    void policy.degrade(
      'breaker.announce',
      () =>
        announceScript.run(
          connection.client,
          [this.circuits],
          [this.channel, opened.provider, opened.until, replicaId, JSON.stringify(message)],
        ),
      undefined,
    );
  }

  listen(apply: (opened: BreakerAnnouncement) => void): () => void {
    const { connection, policy, replicaId } = this.options;
    // Each opened circuit once, however many ways it arrives (a message, the hash read again).
    const delivered = new Map<string, number>();
    const deliver = (message: Message) => {
      if (message.origin === replicaId || message.until <= this.now()) return;
      if ((delivered.get(message.provider) ?? 0) >= message.until) return;
      delivered.set(message.provider, message.until);
      apply({ provider: message.provider, until: message.until });
    };
    const onMessage = (text: string) => {
      try {
        const message: unknown = JSON.parse(text);
        if (isMessage(message)) deliver(message);
      } catch {
        // Not one of ours: ignore it.
      }
    };
    // The circuits opened while this replica was not listening (before it started, or while Redis was away).
    const catchUp = () =>
      void policy.degrade(
        'breaker.load',
        async () => {
          const open = await connection.client.hgetall(this.circuits);
          for (const [provider, value] of Object.entries(open)) {
            const [until, origin] = [Number(value.slice(0, value.indexOf(':'))), value.slice(value.indexOf(':') + 1)];
            deliver({ provider, until, origin });
          }
        },
        undefined,
      );
    // Read the hash each time the subscription becomes active (at first, after a reconnect): what was announced
    // before is in the hash, what is announced after arrives as a message. And every few seconds: the command
    // connection may come back after the subscription did, and a reconnect's gap costs at most that long.
    const onChange = (change: { up: boolean }) => {
      if (change.up) catchUp();
    };
    const unsubscribe = connection.subscribe(this.channel, onMessage, catchUp);
    connection.on('change', onChange);
    const sweep = setInterval(() => {
      if (connection.up) catchUp();
    }, this.options.sweepMs ?? 5_000);
    sweep.unref();
    return () => {
      clearInterval(sweep);
      unsubscribe();
      connection.off('change', onChange);
    };
  }
}
