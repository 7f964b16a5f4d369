import { HostCpuMeter, ProcessCpuMeter, readDiskUsage, readHostMemory, readLoadAverage } from '@unity/diagnostics';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BusEvent } from './event-bus';
import { ProviderAvailability } from './provider-availability';

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

export interface GatewayMetricsOptions {
  /** Node process metrics, and the host's and this process's CPU, memory and disk (default true). */
  processMetrics?: boolean;
  /** How far back `unity_provider_availability_ratio` looks (default one hour). */
  availabilityWindowMs?: number;
  /** Clock of the availability figures, in ms (default `Date.now`). */
  now?: () => number;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process do not collide): requests,
 * latency and time-to-first-token histograms, fallbacks, breaker states, tokens and cache hits; each provider's
 * availability; the host's and the gateway process's CPU, memory and disk (the embedded engine runs in this process);
 * the outcomes of agent runs' tool calls.
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
  private readonly availability: ProviderAvailability;
  private readonly toolCalls: Counter<'outcome'>;
  private readonly toolOutcomes = { succeeded: 0, failed: 0 };
  private readonly disks = new Set<string>();
  private readonly processMetrics: boolean;

  constructor(options: GatewayMetricsOptions = {}) {
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
    this.availability = new ProviderAvailability({
      ...(options.now ? { now: options.now } : {}),
      ...(options.availabilityWindowMs ? { windowMs: options.availabilityWindowMs } : {}),
    });
    const availability = this.availability;
    new Gauge({
      name: 'unity_provider_up',
      help: 'Whether each provider is up (1) or down (0): down while its breaker is open or half-open, or a health check naming it is down',
      labelNames: ['provider'],
      registers,
      collect() {
        for (const provider of availability.providers()) {
          this.set({ provider }, availability.isUp(provider) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'unity_provider_availability_ratio',
      help: 'Share of the last hour (or since the gateway started) each provider was up',
      labelNames: ['provider'],
      registers,
      collect() {
        for (const provider of availability.providers()) this.set({ provider }, availability.ratio(provider));
      },
    });
    this.toolCalls = new Counter({
      name: 'unity_agent_tool_calls_total',
      help: 'Tool calls of agent runs reported to the gateway, by outcome (succeeded, failed)',
      labelNames: ['outcome'],
      registers,
    });
    const outcomes = this.toolOutcomes;
    new Gauge({
      name: 'unity_agent_tool_call_success_ratio',
      help: 'Share of the tool calls of agent runs reported to the gateway that succeeded (NaN before any)',
      registers,
      collect() {
        const total = outcomes.succeeded + outcomes.failed;
        this.set(total > 0 ? outcomes.succeeded / total : Number.NaN);
      },
    });
    this.processMetrics = options.processMetrics !== false;
    if (this.processMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: 'unity_' });
      this.registerHostMetrics();
    }
  }

  /** The host's CPU, load and memory, and this process's CPU and memory (it hosts the embedded engine). */
  private registerHostMetrics(): void {
    const registers = [this.registry];
    const hostCpu = new HostCpuMeter();
    const processCpu = new ProcessCpuMeter();
    new Gauge({
      name: 'unity_host_cpu_utilization_ratio',
      help: "Share of all the host's CPU time that was busy since the previous scrape (os.cpus)",
      registers,
      collect() {
        const busy = hostCpu.sample();
        if (busy !== undefined) this.set(busy);
      },
    });
    new Gauge({
      name: 'unity_host_load_average',
      help: 'Load average of the host over 1, 5 and 15 minutes',
      labelNames: ['period'],
      registers,
      collect() {
        const load = readLoadAverage();
        this.set({ period: '1m' }, load.m1);
        this.set({ period: '5m' }, load.m5);
        this.set({ period: '15m' }, load.m15);
      },
    });
    new Gauge({
      name: 'unity_host_memory_bytes',
      help: 'RAM of the host: total, free, used',
      labelNames: ['kind'],
      registers,
      collect() {
        const memory = readHostMemory();
        this.set({ kind: 'total' }, memory.totalBytes);
        this.set({ kind: 'free' }, memory.freeBytes);
        this.set({ kind: 'used' }, memory.usedBytes);
      },
    });
    new Gauge({
      name: 'unity_engine_process_cpu_utilization_ratio',
      help: 'CPU used by the gateway process, which hosts the embedded engine, since the previous scrape, as a share of all the cores it may use',
      registers,
      collect() {
        const used = processCpu.sample();
        if (used !== undefined) this.set(used);
      },
    });
    new Gauge({
      name: 'unity_engine_process_memory_bytes',
      help: 'Memory of the gateway process, which hosts the embedded engine: rss, heap_total, heap_used, external, array_buffers',
      labelNames: ['kind'],
      registers,
      collect() {
        const memory = process.memoryUsage();
        this.set({ kind: 'rss' }, memory.rss);
        this.set({ kind: 'heap_total' }, memory.heapTotal);
        this.set({ kind: 'heap_used' }, memory.heapUsed);
        this.set({ kind: 'external' }, memory.external);
        this.set({ kind: 'array_buffers' }, memory.arrayBuffers);
      },
    });
    const disks = this.disks;
    new Gauge({
      name: 'unity_host_disk_bytes',
      help: "The file system of the gateway's data folder: total, available (to the gateway), used",
      labelNames: ['path', 'kind'],
      registers,
      async collect() {
        for (const path of disks) {
          try {
            const disk = await readDiskUsage(path);
            this.set({ path, kind: 'total' }, disk.totalBytes);
            this.set({ path, kind: 'available' }, disk.availableBytes);
            this.set({ path, kind: 'used' }, disk.usedBytes);
          } catch {
            // An unreadable folder has no figures rather than failing the whole scrape.
          }
        }
      },
    });
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

  /** Export a closed breaker (0) and an available provider (1) for each provider from the start. */
  trackProviders(providers: readonly string[]): void {
    for (const provider of providers) {
      this.breaker.set({ provider }, 0);
      this.availability.track(provider);
    }
  }

  /** Record a breaker state change (`closed`, `half-open`, `open`). Unknown states are ignored. */
  breakerChanged(provider: string, state: string): void {
    const value = breakerValues[state];
    if (value === undefined) return;
    this.breaker.set({ provider }, value);
    this.availability.breakerChanged(provider, state);
  }

  /** A health check naming a provider changed (`up` as the health monitor judges it). */
  healthChanged(provider: string, check: string, up: boolean): void {
    this.availability.healthChanged(provider, check, up);
  }

  /** Tool calls of an agent run that ended: how many succeeded and failed (`AgentResult.toolOutcomes`). */
  agentToolCalls(outcomes: { succeeded: number; failed: number }): void {
    const succeeded = Math.max(0, Math.floor(outcomes.succeeded) || 0);
    const failed = Math.max(0, Math.floor(outcomes.failed) || 0);
    this.toolOutcomes.succeeded += succeeded;
    this.toolOutcomes.failed += failed;
    if (succeeded > 0) this.toolCalls.inc({ outcome: 'succeeded' }, succeeded);
    if (failed > 0) this.toolCalls.inc({ outcome: 'failed' }, failed);
  }

  /** Export the size, available and used space of the file system holding `path` (the data folder). */
  trackDisk(path: string): void {
    if (this.processMetrics) this.disks.add(path);
  }

  /**
   * Follow the live feed (`bus.subscribe(e => metrics.observe(e))`): `health.change` of a provider feeds its
   * availability; `agent.stop` (an agent run published with `bus.listener('agent')`) its tool-call outcomes. Client
   * events (`client.*`) never count: any /ws client could send them.
   */
  observe(event: BusEvent): void {
    if (event.type === 'health.change' && typeof event.provider === 'string' && event.status !== 'skip') {
      const up = typeof event.up === 'boolean' ? event.up : event.status === 'ok' || event.status === 'warn';
      this.healthChanged(event.provider, String(event.check), up);
    } else if (event.type === 'agent.stop') {
      const outcomes = (event.result as { toolOutcomes?: { succeeded?: unknown; failed?: unknown } } | undefined)
        ?.toolOutcomes;
      if (outcomes) this.agentToolCalls({ succeeded: Number(outcomes.succeeded), failed: Number(outcomes.failed) });
    }
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

  // ── The router's response cache (issue #16): lookups per layer, store outages. Fed by the router's `cache-lookup`
  // and `cache-error` events (see forwardRouterEvents). Declared last: field initialisers run in order, after `registry`.

  private readonly routerCacheLookups = zeroed(
    new Counter({
      name: 'unity_router_cache_lookups_total',
      help: 'Response cache lookups by layer (exact, semantic) and result (hit, miss); semantic ones follow an exact miss',
      labelNames: ['layer', 'result'],
      registers: [this.registry],
    }),
    [
      { layer: 'exact', result: 'hit' },
      { layer: 'exact', result: 'miss' },
      { layer: 'semantic', result: 'hit' },
      { layer: 'semantic', result: 'miss' },
    ],
  );

  private readonly routerCacheOutages = new Counter({
    name: 'unity_router_cache_outages_total',
    help: 'Times the response cache lost its store (sqlite, redis, shared) or its embeddings: answers went on without it',
    labelNames: ['store'],
    registers: [this.registry],
  });

  /** One `cache-lookup` event: the exact layer's result, and the semantic layer's when it was consulted. */
  routerCacheLookup(event: { layer?: string; semantic?: boolean }): void {
    this.routerCacheLookups.inc({ layer: 'exact', result: event.layer === 'exact' ? 'hit' : 'miss' });
    if (event.semantic) {
      this.routerCacheLookups.inc({ layer: 'semantic', result: event.layer === 'semantic' ? 'hit' : 'miss' });
    }
  }

  /** One `cache-error` event (the first failure of an outage). */
  routerCacheOutage(store: string): void {
    this.routerCacheOutages.inc({ store });
  }
}

/** A counter with these label sets exported as 0 from the start. */
function zeroed<L extends string>(counter: Counter<L>, labelSets: Partial<Record<L, string>>[]): Counter<L> {
  for (const labels of labelSets) counter.inc(labels, 0);
  return counter;
}
