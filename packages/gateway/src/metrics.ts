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
  // The hot path's series, each bound once: `inc({ labels })` would hash the label set on every request.
  private readonly requestsBy: BoundChildren<Counter.Internal>;
  private readonly latencyBy: BoundChildren<Histogram.Internal<'endpoint' | 'provider' | 'stream'>>;
  private readonly ttftBy: BoundChildren<Histogram.Internal<'endpoint' | 'provider'>>;
  private readonly fallbacksBy: BoundChildren<Counter.Internal>;
  private readonly tokensBy: BoundChildren<Counter.Internal>;
  private readonly inFlight: Gauge<never>;
  /** The providers' availability: the metrics' own, or one shared with the alert rules (see `shareAvailability`). */
  private availability: ProviderAvailability;
  /** Whether `availability` is the metrics' own, fed by `breakerChanged` and `observe` (a shared one has its owner). */
  private ownsAvailability = true;
  private readonly toolCalls: Record<'succeeded' | 'failed', Counter.Internal>;
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
    this.requestsBy = new BoundChildren((...values) => this.requests.labels(...values));
    this.latencyBy = new BoundChildren((...values) => this.latency.labels(...values));
    this.ttftBy = new BoundChildren((...values) => this.ttft.labels(...values));
    this.fallbacksBy = new BoundChildren((...values) => this.fallbacks.labels(...values));
    this.tokensBy = new BoundChildren((...values) => this.tokens.labels(...values));
    this.availability = new ProviderAvailability({
      ...(options.now ? { now: options.now } : {}),
      ...(options.availabilityWindowMs ? { windowMs: options.availabilityWindowMs } : {}),
    });
    const metrics = this;
    new Gauge({
      name: 'unity_provider_up',
      help: 'Whether each provider is up (1) or down (0): down while its breaker is open or half-open, or a health check naming it is down',
      labelNames: ['provider'],
      registers,
      collect() {
        const { availability } = metrics;
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
        const { availability } = metrics;
        for (const provider of availability.providers()) this.set({ provider }, availability.ratio(provider));
      },
    });
    const toolCalls = new Counter({
      name: 'unity_agent_tool_calls_total',
      help: 'Tool calls of agent runs reported to the gateway, by outcome (succeeded, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.toolCalls = { succeeded: toolCalls.labels('succeeded'), failed: toolCalls.labels('failed') };
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
    const stream = r.stream ? 'true' : 'false';
    this.requestsBy.get(r.endpoint, String(r.status), r.provider, stream).inc();
    this.latencyBy.get(r.endpoint, r.provider, stream).observe(r.ms / 1000);
    if (r.ttftMs !== undefined) this.ttftBy.get(r.endpoint, r.provider).observe(r.ttftMs / 1000);
    if (r.fallback) this.fallbacksBy.get(r.provider).inc();
    if (r.inputTokens) this.tokensBy.get(r.provider, 'input').inc(r.inputTokens);
    if (r.outputTokens) this.tokensBy.get(r.provider, 'output').inc(r.outputTokens);
    if (r.cached) this.cacheHits.inc();
  }

  /** A chat request refused before it reached the router (invalid JSON or body, unknown model, too large, no key). */
  requestRejected(endpoint: string, status: number): void {
    this.requestsBy.get(endpoint, String(status), 'none', 'false').inc();
  }

  /**
   * Export `shared` as the providers' availability instead of the metrics' own: one instance the gateway's owner
   * feeds from the bus (`availability.observe`) and shares with the alert rules. `breakerChanged` and `observe` then
   * leave it to its owner.
   */
  shareAvailability(shared: ProviderAvailability): void {
    for (const provider of this.availability.providers()) shared.track(provider);
    this.availability = shared;
    this.ownsAvailability = false;
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
    if (this.ownsAvailability) this.availability.breakerChanged(provider, state);
  }

  /** A health check naming a provider changed (`up` as the health monitor judges it). */
  healthChanged(provider: string, check: string, up: boolean): void {
    if (this.ownsAvailability) this.availability.healthChanged(provider, check, up);
  }

  /** Tool calls of an agent run that ended: how many succeeded and failed (`AgentResult.toolOutcomes`). */
  agentToolCalls(outcomes: { succeeded: number; failed: number }): void {
    const succeeded = Math.max(0, Math.floor(outcomes.succeeded) || 0);
    const failed = Math.max(0, Math.floor(outcomes.failed) || 0);
    this.toolOutcomes.succeeded += succeeded;
    this.toolOutcomes.failed += failed;
    if (succeeded > 0) this.toolCalls.succeeded.inc(succeeded);
    if (failed > 0) this.toolCalls.failed.inc(failed);
  }

  /** Export the size, available and used space of the file system holding `path` (the data folder). */
  trackDisk(path: string): void {
    if (this.processMetrics) this.disks.add(path);
  }

  /**
   * Follow the live feed (`bus.subscribe(e => metrics.observe(e))`): `health.change` of a provider feeds its
   * availability (unless it is shared: its owner feeds it); each tool result of an agent run reported to
   * `/api/runs` (`run.agent.tool-result`, published once per accepted event: a retried batch's duplicates are not)
   * and `agent.stop` of an agent run published in process (`bus.listener('agent')`) feed the tool-call outcomes.
   * Client events (`client.*`) never count: any /ws client could send them.
   */
  observe(event: BusEvent): void {
    if (event.type === 'run.agent.tool-result') {
      if (typeof event.ok === 'boolean')
        this.agentToolCalls(event.ok ? { succeeded: 1, failed: 0 } : { succeeded: 0, failed: 1 });
    } else if (event.type === 'health.change') {
      if (this.ownsAvailability) this.availability.observe(event);
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

  /** By layer, then result: each series bound once and exported as 0 from the start (one lookup a request). */
  private readonly routerCacheLookups = lookupChildren(
    new Counter({
      name: 'unity_router_cache_lookups_total',
      help: 'Response cache lookups by layer (exact, semantic) and result (hit, miss); semantic ones follow an exact miss',
      labelNames: ['layer', 'result'],
      registers: [this.registry],
    }),
  );

  private readonly routerCacheOutages = new Counter({
    name: 'unity_router_cache_outages_total',
    help: 'Times the response cache lost its store (sqlite, redis, shared) or its embeddings: answers went on without it',
    labelNames: ['store'],
    registers: [this.registry],
  });

  /** One `cache-lookup` event: the exact layer's result, and the semantic layer's when it was consulted. */
  routerCacheLookup(event: { layer?: string; semantic?: boolean }): void {
    const { exact, semantic } = this.routerCacheLookups;
    (event.layer === 'exact' ? exact.hit : exact.miss).inc();
    if (event.semantic) (event.layer === 'semantic' ? semantic.hit : semantic.miss).inc();
  }

  /** One `cache-error` event (the first failure of an outage). */
  routerCacheOutage(store: string): void {
    this.routerCacheOutages.inc({ store });
  }
}

/** The cache lookups' series by layer and result, bound once and exported as 0 from the start. */
function lookupChildren(counter: Counter<'layer' | 'result'>) {
  const bind = (layer: string, result: string) => {
    const child = counter.labels(layer, result);
    child.inc(0);
    return child;
  };
  return {
    exact: { hit: bind('exact', 'hit'), miss: bind('exact', 'miss') },
    semantic: { hit: bind('semantic', 'hit'), miss: bind('semantic', 'miss') },
  };
}

/**
 * A metric's children by their label values (in `labelNames` order), each bound with `labels()` the first time it is
 * used. The label values come from the gateway (endpoints, statuses, configured providers), not from clients.
 */
class BoundChildren<C> {
  private readonly bound = new Map<string, C>();

  constructor(private readonly bind: (...values: string[]) => C) {}

  get(...values: string[]): C {
    const key = values.join('\u0000');
    let child = this.bound.get(key);
    if (child === undefined) {
      child = this.bind(...values);
      this.bound.set(key, child);
    }
    return child;
  }
}
