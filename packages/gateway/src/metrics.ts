import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** How a breaker state is exported: 0 closed, 1 half-open, 2 open. */
const breakerValues: Record<string, number> = { closed: 0, 'half-open': 1, halfOpen: 1, open: 2 };

interface RequestRecord {
  /** `openai.chat`, `ollama.chat`, `ollama.generate`. */
  endpoint: string;
  status: number;
  stream: boolean;
  /** The provider that served, or `none` when every attempt failed. */
  provider: string;
  ms: number;
  /** Time to the first streamed event, for streams that got one. */
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** The request was served by a provider other than the first one tried. */
  fallback: boolean;
  /** The router answered from its cache. */
  cached?: boolean;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process do not collide): requests,
 * latency and time-to-first-token histograms, fallbacks, breaker states, tokens and cache hits.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'status' | 'provider' | 'stream'>;
  private readonly latency: Histogram<'endpoint' | 'provider' | 'stream'>;
  private readonly ttft: Histogram<'endpoint' | 'provider'>;
  private readonly fallbacks: Counter<'provider'>;
  private readonly breaker: Gauge<'provider'>;
  private readonly tokens: Counter<'provider' | 'kind'>;
  private readonly cacheHits: Counter<never>;
  private readonly inFlight: Gauge<never>;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.requests = new Counter({
      name: 'unity_gateway_requests_total',
      help: 'Chat requests by endpoint, HTTP status, serving provider and streaming',
      labelNames: ['endpoint', 'status', 'provider', 'stream'],
      registers,
    });
    this.latency = new Histogram({
      name: 'unity_gateway_request_duration_seconds',
      help: 'Wall time of chat requests, from arrival to the last byte',
      labelNames: ['endpoint', 'provider', 'stream'],
      buckets,
      registers,
    });
    this.ttft = new Histogram({
      name: 'unity_gateway_time_to_first_token_seconds',
      help: 'Time from arrival of a streaming request to its first streamed token',
      labelNames: ['endpoint', 'provider'],
      buckets,
      registers,
    });
    this.fallbacks = new Counter({
      name: 'unity_gateway_fallbacks_total',
      help: 'Requests served by a provider other than the first one tried, by serving provider',
      labelNames: ['provider'],
      registers,
    });
    this.breaker = new Gauge({
      name: 'unity_router_breaker_state',
      help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'],
      registers,
    });
    this.tokens = new Counter({
      name: 'unity_gateway_tokens_total',
      help: 'Tokens by serving provider and kind (input, output)',
      labelNames: ['provider', 'kind'],
      registers,
    });
    this.cacheHits = new Counter({
      name: 'unity_router_cache_hits_total',
      help: 'Requests the router answered from its response cache',
      registers,
    });
    this.inFlight = new Gauge({
      name: 'unity_gateway_requests_in_flight',
      help: 'Chat requests being served right now',
      registers,
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'unity_' });
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  requestFinished(r: RequestRecord): void {
    this.inFlight.dec();
    const stream = String(r.stream);
    this.requests.inc({ endpoint: r.endpoint, status: String(r.status), provider: r.provider, stream });
    this.latency.observe({ endpoint: r.endpoint, provider: r.provider, stream }, r.ms / 1000);
    if (r.ttftMs !== undefined) this.ttft.observe({ endpoint: r.endpoint, provider: r.provider }, r.ttftMs / 1000);
    if (r.fallback) this.fallbacks.inc({ provider: r.provider });
    if (r.inputTokens) this.tokens.inc({ provider: r.provider, kind: 'input' }, r.inputTokens);
    if (r.outputTokens) this.tokens.inc({ provider: r.provider, kind: 'output' }, r.outputTokens);
    if (r.cached) this.cacheHits.inc();
  }

  /** A chat request refused before it reached the router (invalid JSON or body, unknown model, too large, no key). */
  requestRejected(endpoint: string, status: number): void {
    this.requests.inc({ endpoint, status: String(status), provider: 'none', stream: 'false' });
  }

  /** Export a closed breaker (0) for each provider from the start, rather than nothing until one changes. */
  trackProviders(providers: readonly string[]): void {
    for (const provider of providers) this.breaker.set({ provider }, 0);
  }

  /** Record a breaker state change (`closed`, `half-open`, `open`). Unknown states are ignored. */
  breakerChanged(provider: string, state: string): void {
    const value = breakerValues[state];
    if (value !== undefined) this.breaker.set({ provider }, value);
  }

  private redisMetrics:
    | { up: Gauge<never>; errors: Counter<'op'>; failOpen: Counter<'op'>; dropped: Counter<never> }
    | undefined;

  /**
   * Export the replica's Redis metrics (only a gateway with `server.redis_url` has them): `unity_redis_up`,
   * `unity_redis_errors_total{op}`, `unity_redis_fail_open_total{op}`, `unity_redis_settlements_dropped_total`.
   */
  trackRedis(): void {
    if (this.redisMetrics) return;
    const registers = [this.registry];
    this.redisMetrics = {
      up: new Gauge({ name: 'unity_redis_up', help: 'Whether this replica reaches Redis (1) or not (0)', registers }),
      errors: new Counter({
        name: 'unity_redis_errors_total',
        help: 'Redis operations that failed (connection lost, timeout), by operation',
        labelNames: ['op'],
        registers,
      }),
      failOpen: new Counter({
        name: 'unity_redis_fail_open_total',
        help: 'Requests admitted without their Redis check (server.redis_failure: open), by operation',
        labelNames: ['op'],
        registers,
      }),
      dropped: new Counter({
        name: 'unity_redis_settlements_dropped_total',
        help: 'Spend records dropped because Redis stayed away longer than the pending queue holds',
        registers,
      }),
    };
    this.redisMetrics.up.set(0);
  }

  redisState(up: boolean): void {
    this.redisMetrics?.up.set(up ? 1 : 0);
  }

  redisFailure(op: string, failedOpen: boolean): void {
    this.redisMetrics?.errors.inc({ op });
    if (failedOpen) this.redisMetrics?.failOpen.inc({ op });
  }

  redisSettlementDropped(): void {
    this.redisMetrics?.dropped.inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
