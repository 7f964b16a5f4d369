import type {
  Admission,
  AdmissionRequest,
  KeyRecord,
  KeyStore,
  Reservation,
  Settlement,
  SpendQuery,
  SpendRow,
  UsageStore,
} from './store';

const windowMs = 60_000;

/** Key records in a Map, indexed by id and hash. The SQLite store keeps its records here between reads. */
export class MemoryKeyStore implements KeyStore {
  protected readonly byId = new Map<string, KeyRecord>();
  protected readonly byHash = new Map<string, string>();

  async create(record: KeyRecord): Promise<void> {
    if (this.byId.has(record.id) || this.byHash.has(record.hash)) throw new Error(`key ${record.id} exists`);
    this.put(record);
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    return this.findByHashNow(hash);
  }

  /** The same lookup without a promise, for the request path (the gateway's added latency). */
  findByHashNow(hash: string): KeyRecord | undefined {
    const id = this.byHash.get(hash);
    return id === undefined ? undefined : this.byId.get(id);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    return this.byId.get(id);
  }

  async list(): Promise<KeyRecord[]> {
    return [...this.byId.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  get size(): number {
    return this.byId.size;
  }

  async revoke(id: string, at: number): Promise<KeyRecord | undefined> {
    const record = this.byId.get(id);
    if (!record) return undefined;
    if (record.revokedAt !== undefined) return record;
    const revoked = { ...record, revokedAt: at };
    this.put(revoked);
    return revoked;
  }

  async rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<KeyRecord | undefined> {
    const record = this.byId.get(id);
    if (!record || record.revokedAt !== undefined) return undefined;
    this.byHash.delete(record.hash);
    const rotated = { ...record, hash: secret.hash, prefix: secret.prefix, rotatedAt: at };
    this.put(rotated);
    return rotated;
  }

  async close(): Promise<void> {}

  /** Replace every record (the SQLite store after reading its file). */
  protected replaceAll(records: readonly KeyRecord[]): void {
    this.byId.clear();
    this.byHash.clear();
    for (const record of records) this.put(record);
  }

  protected put(record: KeyRecord): void {
    this.byId.set(record.id, record);
    this.byHash.set(record.hash, record.id);
  }
}

interface WindowPair {
  window: number;
  current: number;
  previous: number;
}

interface Held {
  keyId: string;
  micros: number;
  expiresAt: number;
}

/** `used = current + previous × (1 − elapsed fraction)`, the counters moved to `now`'s window first. */
function slide(pair: WindowPair | undefined, now: number): WindowPair {
  const window = Math.floor(now / windowMs);
  if (!pair || pair.window < window - 1) return { window, current: 0, previous: 0 };
  if (pair.window === window - 1) return { window, current: 0, previous: pair.current };
  return pair;
}

function weighted(pair: WindowPair, now: number): number {
  const elapsed = (now - pair.window * windowMs) / windowMs;
  return pair.current + pair.previous * (1 - elapsed);
}

/**
 * How long until `used + amount ≤ max` as the previous window's weight decays (and, at the latest, until the next
 * window, when the current count becomes the previous one). At least 1 ms.
 */
function retryAfter(pair: WindowPair, now: number, amount: number, max: number): number {
  const windowEnd = (pair.window + 1) * windowMs;
  if (pair.previous > 0 && pair.current + amount <= max) {
    // current + previous × (1 − (t − start) / W) ≤ max − amount  ⇒  t ≥ start + W × (1 − (max − amount − current) / previous)
    const t = pair.window * windowMs + windowMs * (1 - (max - amount - pair.current) / pair.previous);
    return Math.max(1, Math.ceil(t - now));
  }
  return Math.max(1, windowEnd - now);
}

/**
 * Usage counters in memory: exact and atomic within one process (each method runs to its end without awaiting).
 * The embedded store uses it as its working set and writes spend through to SQLite; tests use it alone.
 */
export class MemoryUsageStore implements UsageStore {
  /** key → the times of the requests admitted in the last minute, oldest first (a sliding log). */
  private readonly requests = new Map<string, number[]>();
  private readonly tokens = new Map<string, WindowPair>();
  private readonly held = new Map<string, Held>();
  /** key → period → micro-dollars spent. */
  protected readonly spent = new Map<string, Map<string, number>>();
  /** `key\u0000model\u0000day` → row. */
  protected readonly rows = new Map<string, SpendRow>();

  async admit(request: AdmissionRequest): Promise<Admission> {
    return this.admitNow(request);
  }

  /** `admit` without a promise, for the request path. */
  admitNow(request: AdmissionRequest): Admission {
    const { keyId, now, limits } = request;
    const admitted = this.requests.get(keyId) ?? [];
    while (admitted.length > 0 && (admitted[0] as number) <= now - windowMs) admitted.shift();
    const tokens = slide(this.tokens.get(keyId), now);
    if (limits.rpm !== undefined && admitted.length >= limits.rpm) {
      // The log is exact: a slot frees when the oldest of the last rpm requests leaves the minute.
      const oldest = admitted[admitted.length - limits.rpm] as number;
      return {
        ok: false,
        limit: 'rpm',
        retryAfterMs: Math.max(1, oldest + windowMs - now),
        used: admitted.length,
        max: limits.rpm,
      };
    }
    if (limits.tpm !== undefined) {
      const used = weighted(tokens, now);
      // A request larger than the whole limit still passes into an empty window, once a minute.
      const fits = used + request.estimatedTokens <= limits.tpm || used === 0;
      if (!fits) {
        return {
          ok: false,
          limit: 'tpm',
          retryAfterMs: retryAfter(tokens, now, Math.min(request.estimatedTokens, limits.tpm), limits.tpm),
          used: Math.ceil(used),
          max: limits.tpm,
        };
      }
    }
    if (limits.budgetMicros !== undefined) {
      const used = this.spentIn(keyId, limits.period) + this.reservedBy(keyId, now);
      if (used >= limits.budgetMicros) return { ok: false, limit: 'budget', used, max: limits.budgetMicros };
    }
    if (limits.rpm !== undefined) admitted.push(now);
    this.requests.set(keyId, admitted);
    tokens.current += request.estimatedTokens;
    this.tokens.set(keyId, tokens);
    this.held.set(request.reservationId, {
      keyId,
      micros: request.estimatedMicros,
      expiresAt: now + request.reservationTtlMs,
    });
    const reservation: Reservation = {
      keyId,
      reservationId: request.reservationId,
      window: tokens.window,
      estimatedTokens: request.estimatedTokens,
      estimatedMicros: request.estimatedMicros,
      period: limits.period,
    };
    return { ok: true, reservation };
  }

  async settle(settlement: Settlement): Promise<void> {
    this.settleNow(settlement);
  }

  settleNow(settlement: Settlement): void {
    const { reservation } = settlement;
    this.held.delete(reservation.reservationId);
    const tokens = this.tokens.get(reservation.keyId);
    const correction = settlement.inputTokens + settlement.outputTokens - reservation.estimatedTokens;
    if (tokens?.window === reservation.window) tokens.current = Math.max(0, tokens.current + correction);
    else if (tokens?.window === reservation.window + 1) tokens.previous = Math.max(0, tokens.previous + correction);
    this.addSpend(reservation.keyId, reservation.period, settlement.costMicros);
    this.addRow({
      keyId: reservation.keyId,
      model: settlement.model,
      day: settlement.day,
      requests: 1,
      inputTokens: settlement.inputTokens,
      outputTokens: settlement.outputTokens,
      costMicros: settlement.costMicros,
    });
  }

  async budgetState(keyId: string, period: string, now: number) {
    return { spentMicros: this.spentIn(keyId, period), reservedMicros: this.reservedBy(keyId, now) };
  }

  async spend(query: SpendQuery = {}): Promise<SpendRow[]> {
    return [...this.rows.values()]
      .filter(
        (row) =>
          (query.keyId === undefined || row.keyId === query.keyId) &&
          (query.fromDay === undefined || row.day >= query.fromDay) &&
          (query.toDay === undefined || row.day <= query.toDay),
      )
      .map((row) => ({ ...row }))
      .sort((a, b) => a.day.localeCompare(b.day) || a.keyId.localeCompare(b.keyId) || a.model.localeCompare(b.model));
  }

  async close(): Promise<void> {}

  protected addSpend(keyId: string, period: string, micros: number): void {
    const periods = this.spent.get(keyId) ?? new Map<string, number>();
    this.spent.set(keyId, periods);
    periods.set(period, (periods.get(period) ?? 0) + micros);
  }

  protected addRow(delta: SpendRow): void {
    const id = `${delta.keyId}\u0000${delta.model}\u0000${delta.day}`;
    const row = this.rows.get(id);
    if (!row) {
      this.rows.set(id, { ...delta });
      return;
    }
    row.requests += delta.requests;
    row.inputTokens += delta.inputTokens;
    row.outputTokens += delta.outputTokens;
    row.costMicros += delta.costMicros;
  }

  private spentIn(keyId: string, period: string): number {
    return this.spent.get(keyId)?.get(period) ?? 0;
  }

  private reservedBy(keyId: string, now: number): number {
    let sum = 0;
    for (const [id, held] of this.held) {
      if (held.expiresAt <= now) this.held.delete(id);
      else if (held.keyId === keyId) sum += held.micros;
    }
    return sum;
  }
}
