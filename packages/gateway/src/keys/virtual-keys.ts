import { randomUUID } from 'node:crypto';
import { GatewayError } from '../errors';
import { displayPrefix, hashSecret, newKeyId, newSecret, sameHash } from './key-secret';
import type { MemoryKeyStore, MemoryUsageStore } from './memory-store';
import { periodEnd, periodOf, utcDay } from './periods';
import { costMicros, defaultPrices, type PriceTable, priceOf, worstPrice } from './prices';
import type { BudgetPeriod, KeyRecord, KeyStore, Reservation, SpendQuery, SpendRow, UsageStore } from './store';

export interface VirtualKeysOptions {
  keys: KeyStore;
  usage: UsageStore;
  /** `server.prices`, over the defaults. */
  prices?: PriceTable;
  /** Milliseconds since the epoch (default Date.now): tests move it. */
  clock?: () => number;
  /** A reservation not settled after this long stops holding budget (default 10 min). */
  reservationTtlMs?: number;
}

export interface CreateKeyInput {
  name: string;
  budgetUsd?: number;
  budgetPeriod?: BudgetPeriod;
  rpm?: number;
  tpm?: number;
  models?: readonly string[];
  /** Milliseconds from now. */
  expiresInMs?: number;
}

/** A key as lists and the admin API show it: never the secret. */
export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  status: 'active' | 'expired' | 'revoked';
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  rotated_at: string | null;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  budget_usd: number | null;
  budget_period: BudgetPeriod;
  /** Spent in the current period, and held by requests in flight. */
  spent_usd: number;
  reserved_usd: number;
}

export interface SpendReport {
  total: { requests: number; input_tokens: number; output_tokens: number; cost_usd: number };
  by_key: Record<string, { name: string; requests: number; tokens: number; cost_usd: number }>;
  by_model: Record<string, { requests: number; tokens: number; cost_usd: number }>;
  by_day: Record<string, { requests: number; tokens: number; cost_usd: number }>;
  rows: Array<{
    key_id: string;
    model: string;
    day: string;
    requests: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
  }>;
}

const usd = (micros: number) => Math.round(micros) / 1e6;
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** What a request asks of its key, known once its body is parsed. */
export interface KeyedRequest {
  /** The served name the client asked for (`unity`, an alias, a model string). */
  model: string;
  /** The model strings that may serve it (the catalog's chain): the dearest prices the reservation. */
  chain: readonly string[];
  /** Worst-case input and output tokens. */
  inputTokens: number;
  outputTokens: number;
}

/**
 * Virtual keys: issue, list, revoke, rotate, and the per-request checks — who the key is, whether it may ask for
 * the model, and admission against its rpm, tpm and budget (reserving the worst case), then settlement with the
 * actual tokens and cost. Used by the gateway, its admin API and `unity keys`.
 */
export class VirtualKeys {
  readonly keys: KeyStore;
  readonly usage: UsageStore;
  readonly prices: PriceTable;
  private readonly clock: () => number;
  private readonly reservationTtlMs: number;

  constructor(options: VirtualKeysOptions) {
    this.keys = options.keys;
    this.usage = options.usage;
    this.prices = { ...defaultPrices, ...options.prices };
    this.clock = options.clock ?? Date.now;
    this.reservationTtlMs = options.reservationTtlMs ?? 600_000;
  }

  /** A new key: the secret is in the answer and nowhere else. */
  async create(input: CreateKeyInput): Promise<{ key: string; record: KeyView }> {
    const secret = newSecret();
    const now = this.clock();
    const record: KeyRecord = {
      id: newKeyId(),
      name: input.name,
      hash: hashSecret(secret),
      prefix: displayPrefix(secret),
      createdAt: now,
      budgetPeriod: input.budgetPeriod ?? 'total',
      ...(input.expiresInMs !== undefined ? { expiresAt: now + input.expiresInMs } : {}),
      ...(input.models && input.models.length > 0 ? { models: [...input.models] } : {}),
      ...(input.rpm !== undefined ? { rpm: input.rpm } : {}),
      ...(input.tpm !== undefined ? { tpm: input.tpm } : {}),
      ...(input.budgetUsd !== undefined ? { budgetMicros: Math.round(input.budgetUsd * 1e6) } : {}),
    };
    await this.keys.create(record);
    return { key: secret, record: await this.view(record) };
  }

  async list(): Promise<KeyView[]> {
    return Promise.all((await this.keys.list()).map((record) => this.view(record)));
  }

  async revoke(id: string): Promise<KeyView> {
    const record = await this.keys.revoke(id, this.clock());
    if (!record) throw unknownKeyId(id);
    return this.view(record);
  }

  /** A new secret for the same key (limits and spend kept); the old secret stops working at once. */
  async rotate(id: string): Promise<{ key: string; record: KeyView }> {
    const secret = newSecret();
    const record = await this.keys.rotate(
      id,
      { hash: hashSecret(secret), prefix: displayPrefix(secret) },
      this.clock(),
    );
    if (!record) {
      const known = await this.keys.get(id);
      if (known) {
        throw new GatewayError({
          code: 'INVALID_REQUEST',
          status: 409,
          message: `key ${id} is revoked: a revoked key cannot be rotated`,
          fix: 'create a new key',
        });
      }
      throw unknownKeyId(id);
    }
    return { key: secret, record: await this.view(record) };
  }

  /** Spend per key, model and day (USD), with totals. Sums are made in micro-dollars, then shown in dollars. */
  async spend(query: SpendQuery = {}): Promise<SpendReport> {
    const rows = await this.usage.spend(query);
    const names = new Map((await this.keys.list()).map((k) => [k.id, k.name]));
    type Sum = { requests: number; tokens: number; micros: number };
    const sum = (groups: Map<string, Sum>, name: string, row: SpendRow) => {
      const entry = groups.get(name) ?? { requests: 0, tokens: 0, micros: 0 };
      entry.requests += row.requests;
      entry.tokens += row.inputTokens + row.outputTokens;
      entry.micros += row.costMicros;
      groups.set(name, entry);
    };
    const byKey = new Map<string, Sum>();
    const byModel = new Map<string, Sum>();
    const byDay = new Map<string, Sum>();
    const total = { requests: 0, input_tokens: 0, output_tokens: 0, micros: 0 };
    for (const row of rows) {
      sum(byKey, row.keyId, row);
      sum(byModel, row.model, row);
      sum(byDay, row.day, row);
      total.requests += row.requests;
      total.input_tokens += row.inputTokens;
      total.output_tokens += row.outputTokens;
      total.micros += row.costMicros;
    }
    const shown = (groups: Map<string, Sum>) =>
      Object.fromEntries(
        [...groups].map(([name, s]) => [name, { requests: s.requests, tokens: s.tokens, cost_usd: usd(s.micros) }]),
      );
    return {
      total: {
        requests: total.requests,
        input_tokens: total.input_tokens,
        output_tokens: total.output_tokens,
        cost_usd: usd(total.micros),
      },
      by_key: Object.fromEntries(
        Object.entries(shown(byKey)).map(([id, s]) => [id, { name: names.get(id) ?? '?', ...s }]),
      ),
      by_model: shown(byModel),
      by_day: shown(byDay),
      rows: rows.map((row) => ({
        key_id: row.keyId,
        model: row.model,
        day: row.day,
        requests: row.requests,
        input_tokens: row.inputTokens,
        output_tokens: row.outputTokens,
        cost_usd: usd(row.costMicros),
      })),
    };
  }

  /**
   * The key record a secret names, if it may be used now: 401 for an unknown, expired or revoked key. The lookup is
   * by sha256 (a Map or hash index: its timing depends on the hash, never on how much of the secret was right),
   * then a constant-time comparison of the hashes.
   */
  async authenticate(secret: string): Promise<KeyRecord> {
    const hash = hashSecret(secret);
    const keys = this.keys as Partial<MemoryKeyStore>;
    const record = keys.findByHashNow ? keys.findByHashNow(hash) : await this.keys.findByHash(hash);
    if (!record || !sameHash(record.hash, hash)) {
      throw invalidKey('the API key is not one this gateway issued (or it was rotated)');
    }
    const now = this.clock();
    if (record.revokedAt !== undefined && record.revokedAt <= now) {
      throw invalidKey(`the API key "${record.name}" (${record.id}) was revoked at ${iso(record.revokedAt)}`);
    }
    if (record.expiresAt !== undefined && record.expiresAt <= now) {
      throw invalidKey(`the API key "${record.name}" (${record.id}) expired at ${iso(record.expiresAt)}`);
    }
    return record;
  }

  /**
   * True when any key exists: then the model endpoints require one (or the master key). A store that cannot count
   * cheaply (no `size`) is taken to hold keys.
   */
  get anyKeys(): boolean {
    return ((this.keys as Partial<MemoryKeyStore>).size ?? 1) > 0;
  }

  /** Close both stores (the embedded one writes its last spend first). */
  async close(): Promise<void> {
    await this.usage.close();
    await this.keys.close();
  }

  /**
   * Admit a request under its key: 403 for a model outside the key's list, 429 over rpm/tpm (with Retry-After) or
   * over budget. Reserves the worst-case cost; `settle` must follow.
   */
  async admit(record: KeyRecord, request: KeyedRequest): Promise<Reservation> {
    if (record.models && !record.models.includes(request.model)) {
      throw new GatewayError({
        code: 'FORBIDDEN',
        status: 403,
        message: `the API key "${record.name}" may not use the model "${request.model}"; it may use: ${record.models.join(', ')}`,
        fix: `ask for one of ${record.models.join(', ')}, or have the key's models changed`,
        param: 'model',
        openai: { type: 'invalid_request_error', code: 'model_not_allowed' },
      });
    }
    const now = this.clock();
    const price = worstPrice(this.prices, request.chain);
    const usage = this.usage as Partial<MemoryUsageStore>;
    const admission = {
      keyId: record.id,
      reservationId: randomUUID(),
      now,
      limits: {
        period: periodOf(record.budgetPeriod, now),
        ...(record.rpm !== undefined ? { rpm: record.rpm } : {}),
        ...(record.tpm !== undefined ? { tpm: record.tpm } : {}),
        ...(record.budgetMicros !== undefined ? { budgetMicros: record.budgetMicros } : {}),
      },
      estimatedTokens: request.inputTokens + request.outputTokens,
      estimatedMicros: costMicros(price, request.inputTokens, request.outputTokens),
      reservationTtlMs: this.reservationTtlMs,
    };
    const result = usage.admitNow ? usage.admitNow(admission) : await this.usage.admit(admission);
    if (result.ok) return result.reservation;
    if (result.limit === 'budget') throw budgetExceeded(record, result.used, result.max, now);
    const seconds = Math.max(1, Math.ceil((result.retryAfterMs ?? 1000) / 1000));
    const what = result.limit === 'rpm' ? 'requests' : 'tokens';
    throw new GatewayError({
      code: 'RATE_LIMITED',
      status: 429,
      message: `the API key "${record.name}" is over its limit of ${result.max} ${what} per minute (${result.limit}); used ${result.used}`,
      fix: `retry after ${seconds} s, or have the key's ${result.limit} raised`,
      retryAfterSeconds: seconds,
      // OpenAI's own shape for a rate limit: type names what ran out, code rate_limit_exceeded.
      openai: { type: what, code: 'rate_limit_exceeded' },
      headers: { [`x-ratelimit-limit-${what}`]: String(result.max) },
    });
  }

  /** Record what the request cost (its served model's price) and release its reservation. */
  async settle(
    reservation: Reservation,
    served: { model: string | undefined; inputTokens: number; outputTokens: number },
  ): Promise<void> {
    const now = this.clock();
    const model = served.model ?? 'none';
    const settlement = {
      reservation,
      now,
      model,
      day: utcDay(now),
      inputTokens: served.inputTokens,
      outputTokens: served.outputTokens,
      costMicros: costMicros(priceOf(this.prices, model), served.inputTokens, served.outputTokens),
    };
    const usage = this.usage as Partial<MemoryUsageStore>;
    if (usage.settleNow) usage.settleNow(settlement);
    else await this.usage.settle(settlement);
  }

  private async view(record: KeyRecord): Promise<KeyView> {
    const now = this.clock();
    const budget = await this.usage.budgetState(record.id, periodOf(record.budgetPeriod, now), now);
    const status =
      record.revokedAt !== undefined && record.revokedAt <= now
        ? 'revoked'
        : record.expiresAt !== undefined && record.expiresAt <= now
          ? 'expired'
          : 'active';
    return {
      id: record.id,
      name: record.name,
      prefix: record.prefix,
      status,
      created_at: new Date(record.createdAt).toISOString(),
      expires_at: iso(record.expiresAt),
      revoked_at: iso(record.revokedAt),
      rotated_at: iso(record.rotatedAt),
      models: record.models ? [...record.models] : null,
      rpm: record.rpm ?? null,
      tpm: record.tpm ?? null,
      budget_usd: record.budgetMicros === undefined ? null : usd(record.budgetMicros),
      budget_period: record.budgetPeriod,
      spent_usd: usd(budget.spentMicros),
      reserved_usd: usd(budget.reservedMicros),
    };
  }
}

function invalidKey(message: string): GatewayError {
  return new GatewayError({
    code: 'INVALID_API_KEY',
    status: 401,
    message,
    fix: 'send a current key (Authorization: Bearer uk-…); `unity keys list` shows which are active',
    openai: { type: 'invalid_request_error', code: 'invalid_api_key' },
  });
}

function unknownKeyId(id: string): GatewayError {
  return new GatewayError({
    code: 'NOT_FOUND',
    status: 404,
    message: `no key with the id ${id}`,
    fix: '`unity keys list` (or GET /admin/keys) shows the ids',
  });
}

/**
 * A spent budget: 429 with OpenAI's `insufficient_quota` type and code — what OpenAI itself sends when an account's
 * credit is used up, so that the OpenAI SDKs raise their RateLimitError with a code that every client and framework
 * (LangChain, LiteLLM's own budget errors map to it too) already treats as "stop, top up" rather than "retry". 402
 * would be truer to HTTP but no OpenAI client knows it. `x-should-retry: false` stops the SDKs' automatic retries,
 * which would otherwise retry a 429; Retry-After says when the period's budget starts again, when it does.
 */
function budgetExceeded(record: KeyRecord, usedMicros: number, maxMicros: number, now: number): GatewayError {
  const end = periodEnd(record.budgetPeriod, now);
  const retryAfterSeconds = end === undefined ? undefined : Math.max(1, Math.ceil((end - now) / 1000));
  return new GatewayError({
    code: 'BUDGET_EXCEEDED',
    status: 429,
    message: `the API key "${record.name}" has spent its budget of $${usd(maxMicros)}${record.budgetPeriod === 'total' ? '' : ` per ${record.budgetPeriod}`} ($${usd(usedMicros)} spent or held by requests in flight)`,
    fix:
      end === undefined
        ? 'have the key given a larger budget, or use another key'
        : `wait until ${new Date(end).toISOString()} when the budget starts again, or have it raised`,
    openai: { type: 'insufficient_quota', code: 'insufficient_quota' },
    headers: { 'x-should-retry': 'false' },
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}
