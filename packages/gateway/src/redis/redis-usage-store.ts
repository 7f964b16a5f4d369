import type {
  Admission,
  AdmissionRequest,
  Reservation,
  Settlement,
  SpendQuery,
  SpendRow,
  UsageStore,
} from '../keys/store';
import { LuaScript } from './lua-script';
import type { RedisConnection } from './redis-connection';
import type { RedisFailurePolicy } from './redis-failure-policy';

const minuteMs = 60_000;
/** How long window counters outlive their minute (the next minute weighs the previous one). */
const windowTtlMs = 3 * minuteMs;
/**
 * How long a settled reservation's id is remembered, so that settling it again counts nothing twice: one key per
 * request, so kept short (at 1 000 requests/s, 900 000 keys). A settlement is sent again only when its first sending
 * got no answer (it may or may not have reached Redis) and Redis then stayed away; a replay later than this after the
 * first sending could count that request twice.
 */
const settledTtlMs = 15 * minuteMs;
/** How long a period's spend is kept (a month's is read for a month; more for the admin API's history). */
const periodTtlMs = 400 * 24 * 60 * minuteMs;

/**
 * Release a key's expired reservations (their replica died before settling): for each, take its amount off the
 * reserved total. KEYS[3] reserved total, KEYS[4] reservations by expiry (zset), KEYS[5] their amounts (hash).
 */
const releaseExpired = `
local function release_expired(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
  for _, id in ipairs(expired) do
    local amount = tonumber(redis.call('HGET', KEYS[5], id) or '0')
    if amount > 0 then redis.call('DECRBY', KEYS[3], amount) end
    redis.call('HDEL', KEYS[5], id)
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now) end
end
`;

/**
 * Admission in one step. rpm: a sliding log — the admitted requests of the last 60 s, each by its time, in a sorted
 * set — so that no 60 s window ever holds more than rpm, however requests bunch (the embedded store's counter, which
 * weighs the previous minute as if its requests had been spread evenly, admits up to twice rpm in a 60 s window that
 * straddles a burst at a minute's end). tpm: that sliding window counter, as the embedded store counts it.
 * KEYS: [1] spent in the period, [2] unused, [3] reserved total, [4] reservations by expiry, [5] their amounts,
 * [6] the rpm log, [7] tpm this minute, [8] tpm last minute. ARGV: [1] now, [2] rpm (-1: none), [3] tpm (-1),
 * [4] budget micros (-1), [5] estimated tokens, [6] estimated micros, [7] reservation id, [8] reservation ttl,
 * [9] window ttl, [10] period ttl (-1: none).
 * Returns {1} or {0, limit, retryAfterMs, used, max} (numbers as strings: Redis truncates Lua numbers).
 */
const admitScript = new LuaScript(`${releaseExpired}
local now = tonumber(ARGV[1])
local rpm, tpm, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, micros = tonumber(ARGV[5]), tonumber(ARGV[6])
local window_start = math.floor(now / 60000) * 60000
local elapsed = (now - window_start) / 60000
local weight = 1 - elapsed
release_expired(now)

-- How long until current + previous x (1 - elapsed) + need <= max as the previous minute's weight decays; at the
-- latest, the next minute (as the embedded store answers).
local function retry_after(current, previous, need, max)
  if previous > 0 and current + need <= max then
    local t = window_start + 60000 * (1 - (max - need - current) / previous)
    return math.max(1, math.ceil(t - now))
  end
  return math.max(1, window_start + 60000 - now)
end

if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - 60000)
  local used = redis.call('ZCARD', KEYS[6])
  if used + 1 > rpm then
    -- Room comes when the oldest (used + 1 - rpm) have slid out of the last 60 s.
    local leaving = redis.call('ZRANGE', KEYS[6], used - rpm, used - rpm, 'WITHSCORES')
    local retry = 1
    if leaving[2] then retry = math.max(1, math.ceil(tonumber(leaving[2]) + 60000 - now)) end
    return {0, 'rpm', tostring(retry), tostring(used), tostring(rpm)}
  end
end
local tpm_now = tonumber(redis.call('GET', KEYS[7]) or '0')
local tpm_prev = tonumber(redis.call('GET', KEYS[8]) or '0')
if tpm >= 0 then
  local used = tpm_now + tpm_prev * weight
  if used > 0 and used + tokens > tpm then
    return {0, 'tpm', tostring(retry_after(tpm_now, tpm_prev, math.min(tokens, tpm), tpm)), tostring(math.ceil(used)), tostring(tpm)}
  end
end
if budget >= 0 then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(redis.call('GET', KEYS[3]) or '0')
  if used >= budget then
    return {0, 'budget', '-1', tostring(used), tostring(budget)}
  end
end
if rpm >= 0 then
  redis.call('ZADD', KEYS[6], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[6], ARGV[9])
end
if tokens > 0 then
  redis.call('INCRBY', KEYS[7], tokens)
  redis.call('PEXPIRE', KEYS[7], ARGV[9])
end
if micros > 0 then
  local expires = now + tonumber(ARGV[8])
  redis.call('INCRBY', KEYS[3], micros)
  redis.call('ZADD', KEYS[4], expires, ARGV[7])
  redis.call('HSET', KEYS[5], ARGV[7], micros)
  if tonumber(ARGV[10]) > 0 then
    for i = 3, 5 do redis.call('PEXPIRE', KEYS[i], math.max(tonumber(ARGV[8]), tonumber(ARGV[10]))) end
  end
end
return {1}
`);

/**
 * Settle a reservation in one step, once (a replay of the same reservation id counts nothing). KEYS: [1] spent in the
 * period, [2] settled marker, [3] reserved total, [4] reservations by expiry, [5] their amounts, [6] tpm of the
 * reservation's minute, [7] the day's spend (hash), [8] the days with spend (zset). ARGV: [1] now, [2] reservation id,
 * [3] token correction (actual - estimate), [4] cost micros, [5] row field prefix ("key\\tmodel\\t"), [6] day,
 * [7] input tokens, [8] output tokens, [9] settled ttl, [10] period ttl (-1: none).
 */
const settleScript = new LuaScript(`${releaseExpired}
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[9]) then return 0 end
local id = ARGV[2]
local amount = tonumber(redis.call('HGET', KEYS[5], id) or '0')
if amount > 0 then redis.call('DECRBY', KEYS[3], amount) end
redis.call('HDEL', KEYS[5], id)
redis.call('ZREM', KEYS[4], id)
release_expired(tonumber(ARGV[1]))
local correction = tonumber(ARGV[3])
if correction ~= 0 and redis.call('EXISTS', KEYS[6]) == 1 then
  local corrected = math.max(0, tonumber(redis.call('GET', KEYS[6])) + correction)
  redis.call('SET', KEYS[6], corrected, 'KEEPTTL')
end
local cost = tonumber(ARGV[4])
if cost > 0 then
  redis.call('INCRBY', KEYS[1], cost)
  if tonumber(ARGV[10]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[10]) end
end
local row = ARGV[5]
redis.call('HINCRBY', KEYS[7], row .. 'requests', 1)
redis.call('HINCRBY', KEYS[7], row .. 'inputTokens', ARGV[7])
redis.call('HINCRBY', KEYS[7], row .. 'outputTokens', ARGV[8])
redis.call('HINCRBY', KEYS[7], row .. 'costMicros', cost)
redis.call('ZADD', KEYS[8], 0, ARGV[6])
return 1
`);

/** KEYS as admitScript's [1], [2], [3], [4], [5]; ARGV[1] now. Returns {spent, reserved}. */
const budgetScript = new LuaScript(`${releaseExpired}
release_expired(tonumber(ARGV[1]))
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[3]) or '0'}
`);

const spendFields = ['requests', 'inputTokens', 'outputTokens', 'costMicros'] as const;

interface RedisUsageStoreOptions {
  connection: RedisConnection;
  policy: RedisFailurePolicy;
  /** A settlement Redis could not take is kept and retried when it returns, up to this many (default 10 000). */
  maxPendingSettlements?: number;
  /** Told when a pending settlement had to be dropped (the queue was full). */
  onSettlementDropped?: (settlement: Settlement) => void;
}

/**
 * {@link UsageStore} on Redis: rate windows, budget reservations and spend shared by every replica, each step one Lua
 * script. While Redis is away, `admit` follows the failure policy (fail-open: admitted unchecked and unreserved;
 * fail-closed: 503); `settle` keeps the settlement in memory (bounded) and replays it when Redis is back — settling is
 * idempotent per reservation id (for 15 minutes), so a replay of one that did reach Redis counts nothing twice.
 */
export class RedisUsageStore implements UsageStore {
  private readonly prefix: string;
  private readonly pending: Settlement[] = [];
  private readonly maxPending: number;
  private replaying = false;
  private readonly onChange: (change: { up: boolean }) => void;

  constructor(private readonly options: RedisUsageStoreOptions) {
    this.prefix = options.connection.keyPrefix;
    this.maxPending = options.maxPendingSettlements ?? 10_000;
    this.onChange = (change) => {
      if (change.up) void this.replay();
    };
    options.connection.on('change', this.onChange);
  }

  /** Settlements waiting for Redis to come back. */
  get pendingSettlements(): number {
    return this.pending.length;
  }

  private get client() {
    return this.options.connection.client;
  }

  /** The keys of a key's budget in a period: [spent, settled marker, reserved, reservations, amounts]. */
  private budgetKeys(keyId: string, period: string, reservationId = ''): string[] {
    const base = `${this.prefix}usage:${keyId}:`;
    return [
      `${base}spent:${period}`,
      `${base}settled:${reservationId}`,
      `${base}reserved:${period}`,
      `${base}reservations:${period}`,
      `${base}reservation-amounts:${period}`,
    ];
  }

  private windowKey(keyId: string, kind: 'tpm', window: number): string {
    return `${this.prefix}usage:${keyId}:${kind}:${window}`;
  }

  admit(request: AdmissionRequest): Promise<Admission> {
    const { keyId, reservationId, now, limits } = request;
    const window = Math.floor(now / minuteMs);
    const reservation: Reservation = {
      keyId,
      reservationId,
      window,
      estimatedTokens: request.estimatedTokens,
      estimatedMicros: request.estimatedMicros,
      period: limits.period,
    };
    return this.options.policy.decide(
      'limits.admit',
      async () => {
        const reply = (await admitScript.run(
          this.client,
          [
            ...this.budgetKeys(keyId, limits.period),
            `${this.prefix}usage:${keyId}:rpm-log`,
            this.windowKey(keyId, 'tpm', window),
            this.windowKey(keyId, 'tpm', window - 1),
          ],
          [
            now,
            limits.rpm ?? -1,
            limits.tpm ?? -1,
            limits.budgetMicros ?? -1,
            Math.max(0, Math.round(request.estimatedTokens)),
            Math.max(0, Math.round(request.estimatedMicros)),
            reservationId,
            request.reservationTtlMs,
            windowTtlMs,
            limits.period === 'total' ? -1 : periodTtlMs,
          ],
        )) as [number, string?, string?, string?, string?];
        if (reply[0] === 1) return { ok: true, reservation };
        const retryAfterMs = Number(reply[2]);
        return {
          ok: false,
          limit: reply[1] as 'rpm' | 'tpm' | 'budget',
          ...(retryAfterMs > 0 ? { retryAfterMs } : {}),
          used: Number(reply[3]),
          max: Number(reply[4]),
        };
      },
      // Failing open: admitted unchecked. Nothing was reserved, and settling it still records its spend.
      () => ({ ok: true, reservation }),
    );
  }

  async settle(settlement: Settlement): Promise<void> {
    try {
      await this.send(settlement);
    } catch (error) {
      this.keep(settlement);
      await this.options.policy.degrade('limits.settle', () => Promise.reject(error), undefined);
    }
  }

  private async send(settlement: Settlement): Promise<void> {
    const { reservation } = settlement;
    const [spent, settled, reserved, reservations, amounts] = this.budgetKeys(
      reservation.keyId,
      reservation.period,
      reservation.reservationId,
    ) as [string, string, string, string, string];
    await settleScript.run(
      this.client,
      [
        spent,
        settled,
        reserved,
        reservations,
        amounts,
        this.windowKey(reservation.keyId, 'tpm', reservation.window),
        `${this.prefix}spend:${settlement.day}`,
        `${this.prefix}spend-days`,
      ],
      [
        settlement.now,
        reservation.reservationId,
        Math.round(settlement.inputTokens + settlement.outputTokens - reservation.estimatedTokens),
        Math.max(0, Math.round(settlement.costMicros)),
        `${reservation.keyId}\t${settlement.model}\t`,
        settlement.day,
        Math.round(settlement.inputTokens),
        Math.round(settlement.outputTokens),
        settledTtlMs,
        reservation.period === 'total' ? -1 : periodTtlMs,
      ],
    );
  }

  private keep(settlement: Settlement): void {
    if (this.pending.length >= this.maxPending) {
      const dropped = this.pending.shift();
      if (dropped) this.options.onSettlementDropped?.(dropped);
    }
    this.pending.push(settlement);
  }

  /** Send the settlements kept while Redis was away, oldest first; stop at the first failure (Redis went again). */
  private async replay(): Promise<void> {
    if (this.replaying) return;
    this.replaying = true;
    try {
      while (this.pending.length > 0) {
        const next = this.pending[0] as Settlement;
        try {
          await this.send(next);
        } catch {
          return;
        }
        this.pending.shift();
      }
    } finally {
      this.replaying = false;
    }
  }

  async budgetState(
    keyId: string,
    period: string,
    now: number,
  ): Promise<{ spentMicros: number; reservedMicros: number }> {
    return this.options.policy.decide(
      'limits.budget',
      async () => {
        const [spent, reserved] = (await budgetScript.run(this.client, this.budgetKeys(keyId, period), [now])) as [
          string,
          string,
        ];
        return { spentMicros: Number(spent), reservedMicros: Math.max(0, Number(reserved)) };
      },
      () => {
        throw this.options.policy.unavailable('limits.budget');
      },
    );
  }

  async spend(query: SpendQuery = {}): Promise<SpendRow[]> {
    return this.options.policy.decide(
      'limits.spend',
      async () => {
        const days = await this.client.zrangebylex(
          `${this.prefix}spend-days`,
          query.fromDay ? `[${query.fromDay}` : '-',
          query.toDay ? `[${query.toDay}` : '+',
        );
        const rows: SpendRow[] = [];
        for (const day of days) {
          const fields = await this.client.hgetall(`${this.prefix}spend:${day}`);
          const byRow = new Map<string, SpendRow>();
          for (const [field, value] of Object.entries(fields)) {
            const [keyId = '', model = '', name = ''] = field.split('\t');
            if (query.keyId !== undefined && keyId !== query.keyId) continue;
            const id = `${keyId}\t${model}`;
            let row = byRow.get(id);
            if (!row) {
              row = { keyId, model, day, requests: 0, inputTokens: 0, outputTokens: 0, costMicros: 0 };
              byRow.set(id, row);
            }
            if ((spendFields as readonly string[]).includes(name))
              row[name as (typeof spendFields)[number]] = Number(value);
          }
          rows.push(
            ...[...byRow.values()].sort((a, b) => a.keyId.localeCompare(b.keyId) || a.model.localeCompare(b.model)),
          );
        }
        return rows;
      },
      () => {
        throw this.options.policy.unavailable('limits.spend');
      },
    );
  }

  async close(): Promise<void> {
    this.options.connection.off('change', this.onChange);
  }
}
