/**
 * The storage of virtual keys and their usage, as interfaces: the embedded SQLite store implements them for one
 * machine, a Redis store for replicas. Every method is ONE atomic step (a SQLite transaction, a Redis Lua script or
 * MULTI): no caller ever reads a value, decides, then writes it back. Times are milliseconds since the epoch, passed
 * in (never read from a clock inside a store), so that tests inject a clock and replicas agree on windows. Money is
 * in integer micro-dollars (1 USD = 1_000_000), so that sums are exact and Redis can use INCRBY.
 */

/** How often a key's budget starts again: each UTC day, ISO week (from Monday), calendar month, or never. */
export type BudgetPeriod = 'day' | 'week' | 'month' | 'total';

/** A virtual key as stored: never the key itself, only its sha256. */
export interface KeyRecord {
  /** Public, stable id (`key_…`): what the admin API and `unity keys` name. Survives rotation. */
  readonly id: string;
  readonly name: string;
  /** sha256 of the secret, lowercase hex: the lookup index. */
  readonly hash: string;
  /** The secret's first characters (`uk-3f9a…`), shown in lists so that a user recognises a key. */
  readonly prefix: string;
  readonly createdAt: number;
  /** Refused from this instant on; absent: never expires. */
  readonly expiresAt?: number;
  /** Refused from this instant on (revocation is immediate and final). */
  readonly revokedAt?: number;
  /** When the secret was last replaced (the old secret stops working at once). */
  readonly rotatedAt?: number;
  /** The served model names (`unity`, `local`, a role, an alias, a model string) it may ask for; absent: any. */
  readonly models?: readonly string[];
  /** Requests per minute; absent: unlimited. */
  readonly rpm?: number;
  /** Tokens (input + output) per minute; absent: unlimited. */
  readonly tpm?: number;
  /** Spend cap per `budgetPeriod`, in micro-dollars; absent: unlimited. */
  readonly budgetMicros?: number;
  readonly budgetPeriod: BudgetPeriod;
}

/** Key records. Implementations index them by id and by hash. */
export interface KeyStore {
  /** Store a new record; fails if the id or the hash exists. */
  create(record: KeyRecord): Promise<void>;
  /** The record whose secret hashes to `hash` (revoked and expired ones too: the caller decides). */
  findByHash(hash: string): Promise<KeyRecord | undefined>;
  get(id: string): Promise<KeyRecord | undefined>;
  /** Every record, oldest first. */
  list(): Promise<KeyRecord[]>;
  /** Mark revoked at `at` (idempotent: an earlier revocation stands). The record after, or undefined if unknown. */
  revoke(id: string, at: number): Promise<KeyRecord | undefined>;
  /**
   * Replace the secret's hash and prefix in one step (the old hash no longer finds the record), setting `rotatedAt`.
   * Undefined if the id is unknown or revoked.
   */
  rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<KeyRecord | undefined>;
  close(): Promise<void>;
}

/** The limits a key's request is admitted against (from its record), resolved by the caller. */
export interface AdmissionLimits {
  rpm?: number;
  tpm?: number;
  budgetMicros?: number;
  /**
   * The budget period this request falls in (`2026-12-07`, `2026-W49`, `2026-12`, `total`): spend is summed per
   * key and period, so a new period starts at zero without a reset job.
   */
  period: string;
}

export interface AdmissionRequest {
  keyId: string;
  /** Unique per request (a UUID): names the reservation that `settle` closes. */
  reservationId: string;
  now: number;
  limits: AdmissionLimits;
  /** The request's worst case: input tokens (estimated) + max output tokens. Added to the tpm window at once. */
  estimatedTokens: number;
  /** The worst-case cost of those tokens at the model's price, reserved against the budget until `settle`. */
  estimatedMicros: number;
  /** A reservation not settled by `now + reservationTtlMs` (a replica died mid-request) stops counting. */
  reservationTtlMs: number;
}

export type Admission =
  | { ok: true; reservation: Reservation }
  | {
      ok: false;
      /** Which limit refused: requests or tokens per minute, or the budget. */
      limit: 'rpm' | 'tpm' | 'budget';
      /** When a retry may pass (rpm/tpm: when enough of the window has slid; budget: the period's end, if any). */
      retryAfterMs?: number;
      /** The counted value that refused (requests or tokens in the window; micro-dollars spent + reserved). */
      used: number;
      /** The limit it was checked against. */
      max: number;
    };

/** What `admit` took, handed back to `settle` so that it undoes exactly that. */
export interface Reservation {
  readonly keyId: string;
  readonly reservationId: string;
  /** The fixed one-minute window (`floor(now / 60_000)`) the request's estimated tokens were counted in. */
  readonly window: number;
  readonly estimatedTokens: number;
  readonly estimatedMicros: number;
  readonly period: string;
}

export interface Settlement {
  reservation: Reservation;
  now: number;
  /** The served model's name as priced (`minimax/MiniMax-M2`); `none` when nothing answered. */
  model: string;
  /** The UTC day the spend is counted on (`2026-12-07`). */
  day: string;
  inputTokens: number;
  outputTokens: number;
  /** The actual cost; 0 for a failed or local request. */
  costMicros: number;
}

/** One row of spend: a key's use of a model on a day. */
export interface SpendRow {
  keyId: string;
  model: string;
  day: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
}

export interface SpendQuery {
  keyId?: string;
  /** Inclusive UTC days, `YYYY-MM-DD`. */
  fromDay?: string;
  toDay?: string;
}

/**
 * Rate windows, budget reservations and spend.
 *
 * rpm is exact over any 60 s (a sliding log: the times of the last minute's admitted requests, a sorted set in
 * Redis). tpm uses a fixed one-minute window weighted with the previous one (the "sliding window counter":
 * `used = current + previous × (1 − elapsed fraction of current)`), two counters per key, so that settlement can
 * correct a request's estimate in the window it was counted in.
 */
export interface UsageStore {
  /**
   * In one atomic step: check rpm (used + 1 ≤ rpm), tpm (used + estimatedTokens ≤ tpm, or the window is empty — a
   * single request larger than tpm is still served once a minute) and budget (spent + reserved < budget: something
   * remains); if all pass, count the request, add `estimatedTokens` to the tpm window and reserve `estimatedMicros`.
   * Refused requests are not counted.
   */
  admit(request: AdmissionRequest): Promise<Admission>;
  /**
   * In one atomic step: release the reservation, correct the tpm window of `reservation.window` by the actual tokens
   * minus the estimate, add the actual cost to the period's spend and the tokens, cost and one request to the
   * (key, model, day) row. Settling an unknown or expired reservation still records the spend (never lost).
   */
  settle(settlement: Settlement): Promise<void>;
  /** Spent and reserved micro-dollars of a key in a period (for `unity keys list` and the admin API). */
  budgetState(keyId: string, period: string, now: number): Promise<{ spentMicros: number; reservedMicros: number }>;
  /** Spend rows matching the query, by day, key, model. */
  spend(query?: SpendQuery): Promise<SpendRow[]>;
  close(): Promise<void>;
}
