import { tmpdir } from 'node:os';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { EventBus } from './event-bus';
import { GatewayMetrics } from './metrics';
import { ProviderAvailability } from './provider-availability';
import { RunReporter } from './run-report/run-reporter';

/** The value of one sample line (`name{labels} value`), undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GatewayMetrics', () => {
  it('exports each provider as up (1) until its breaker opens, and the share of the window it was up', async () => {
    const clock = { now: 1_000_000 };
    const metrics = new GatewayMetrics({ processMetrics: false, now: () => clock.now, availabilityWindowMs: 10_000 });
    metrics.trackProviders(['openai', 'ollama']);
    clock.now += 1_000;
    metrics.breakerChanged('openai', 'open');
    clock.now += 1_000;
    let text = await metrics.text();
    expect(sample(text, 'unity_provider_up{provider="openai"}')).toBe(0);
    expect(sample(text, 'unity_provider_up{provider="ollama"}')).toBe(1);
    expect(sample(text, 'unity_provider_availability_ratio{provider="openai"}')).toBeCloseTo(0.5);
    expect(sample(text, 'unity_provider_availability_ratio{provider="ollama"}')).toBe(1);
    metrics.breakerChanged('openai', 'closed');
    text = await metrics.text();
    expect(sample(text, 'unity_provider_up{provider="openai"}')).toBe(1);
  });

  it('takes health changes of a provider from the live feed', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const bus = new EventBus();
    bus.subscribe((e) => metrics.observe(e));
    metrics.trackProviders(['ollama']);
    bus.publish('health.change', { check: 'ollama-reachable', provider: 'ollama', status: 'fail', up: false });
    expect(sample(await metrics.text(), 'unity_provider_up{provider="ollama"}')).toBe(0);
    bus.publish('health.change', { check: 'ollama-reachable', provider: 'ollama', status: 'ok', up: true });
    expect(sample(await metrics.text(), 'unity_provider_up{provider="ollama"}')).toBe(1);
  });

  it('counts the tool calls of agent runs on the bus by outcome, with their success ratio, and never client events', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const bus = new EventBus();
    bus.subscribe((e) => metrics.observe(e));
    expect(sample(await metrics.text(), 'unity_agent_tool_call_success_ratio')).toBeNaN();
    // As an agent run's events arrive through `bus.listener('agent')` (its `stop` event carries the run's summary).
    const stop = { type: 'stop', result: { stopReason: 'completed', toolOutcomes: { succeeded: 3, failed: 1 } } };
    bus.listener('agent')(stop);
    bus.publish('agent.stop', { result: { toolOutcomes: { succeeded: 2, failed: 2 } } });
    bus.publishClient('client.agent.stop', { result: { toolOutcomes: { succeeded: 100, failed: 0 } } });
    const text = await metrics.text();
    expect(sample(text, 'unity_agent_tool_calls_total{outcome="succeeded"}')).toBe(5);
    expect(sample(text, 'unity_agent_tool_calls_total{outcome="failed"}')).toBe(3);
    expect(sample(text, 'unity_agent_tool_call_success_ratio')).toBeCloseTo(5 / 8);
  });

  it('exports a shared availability its owner feeds from the bus, and leaves feeding it to the owner', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const shared = new ProviderAvailability();
    const bus = new EventBus();
    bus.subscribe((e) => shared.observe(e));
    bus.subscribe((e) => metrics.observe(e));
    metrics.shareAvailability(shared);
    metrics.trackProviders(['openai', 'ollama']);
    expect(shared.providers()).toEqual(['openai', 'ollama']);
    bus.publish('router.breaker', { provider: 'openai', from: 'closed', to: 'open' });
    bus.publish('health.change', { check: 'ollama-reachable', provider: 'ollama', status: 'fail', up: false });
    let text = await metrics.text();
    expect(sample(text, 'unity_provider_up{provider="openai"}')).toBe(0);
    expect(sample(text, 'unity_provider_up{provider="ollama"}')).toBe(0);
    // The gateway still reports breaker changes to the metrics (for the breaker gauge): the shared one is not moved.
    metrics.breakerChanged('openai', 'closed');
    text = await metrics.text();
    expect(sample(text, 'unity_router_breaker_state{provider="openai"}')).toBe(0);
    expect(shared.isUp('openai')).toBe(false);
    bus.publish('router.breaker', { provider: 'openai', from: 'open', to: 'closed' });
    expect(sample(await metrics.text(), 'unity_provider_up{provider="openai"}')).toBe(1);
  });

  it('counts requests, latencies, fallbacks and tokens per label set, and refused requests', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const served = { endpoint: 'openai.chat', status: 200, stream: true, provider: 'ollama', ms: 40, fallback: true };
    for (const inputTokens of [3, 4]) {
      metrics.requestStarted();
      metrics.requestFinished({ ...served, ttftMs: 10, inputTokens, outputTokens: 5 });
    }
    metrics.requestRejected('openai.chat', 400);
    const text = await metrics.text();
    const labels = 'endpoint="openai.chat",status="200",provider="ollama",stream="true"';
    expect(sample(text, `unity_gateway_requests_total{${labels}}`)).toBe(2);
    expect(
      sample(text, 'unity_gateway_requests_total{endpoint="openai.chat",status="400",provider="none",stream="false"}'),
    ).toBe(1);
    expect(
      sample(
        text,
        'unity_gateway_request_duration_seconds_count{endpoint="openai.chat",provider="ollama",stream="true"}',
      ),
    ).toBe(2);
    expect(
      sample(text, 'unity_gateway_time_to_first_token_seconds_count{endpoint="openai.chat",provider="ollama"}'),
    ).toBe(2);
    expect(sample(text, 'unity_gateway_fallbacks_total{provider="ollama"}')).toBe(2);
    expect(sample(text, 'unity_gateway_tokens_total{provider="ollama",kind="input"}')).toBe(7);
    expect(sample(text, 'unity_gateway_tokens_total{provider="ollama",kind="output"}')).toBe(10);
    expect(sample(text, 'unity_gateway_requests_in_flight')).toBe(0);
  });

  it("exports the host's CPU, load, memory and disk, and the gateway process's CPU and memory", async () => {
    const metrics = new GatewayMetrics();
    metrics.trackDisk(tmpdir());
    await metrics.text();
    const until = performance.now() + 30;
    while (performance.now() < until) {
      // busy: the process's CPU share since the first scrape is above 0
    }
    const text = await metrics.text();
    const cpu = sample(text, 'unity_host_cpu_utilization_ratio');
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(1);
    expect(sample(text, 'unity_host_load_average{period="1m"}')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'unity_host_memory_bytes{kind="total"}')).toBeGreaterThan(0);
    expect(sample(text, `unity_host_disk_bytes{path="${tmpdir()}",kind="total"}`)).toBeGreaterThan(0);
    expect(sample(text, `unity_host_disk_bytes{path="${tmpdir()}",kind="available"}`)).toBeGreaterThan(0);
    expect(sample(text, 'unity_engine_process_cpu_utilization_ratio')).toBeGreaterThan(0);
    expect(sample(text, 'unity_engine_process_memory_bytes{kind="rss"}')).toBeGreaterThan(0);
    expect(sample(text, 'unity_engine_process_memory_bytes{kind="heap_used"}')).toBeGreaterThan(0);
  });

  it('leaves the host and process figures out when process metrics are off', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    metrics.trackDisk(tmpdir());
    const text = await metrics.text();
    expect(text).not.toMatch(/unity_host_|unity_engine_process_/);
  });
});

describe('/metrics of a running gateway', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ routerYaml: ['  breaker:', '    failure_threshold: 1'].join('\n') });
  });
  afterAll(() => h.close());

  it("turns a provider's availability to 0 once its breaker opens, and measures the data folder's disk", async () => {
    const before = await (await fetch(`${h.url}/metrics`)).text();
    expect(sample(before, 'unity_provider_up{provider="openai"}')).toBe(1);
    expect(sample(before, 'unity_provider_up{provider="ollama"}')).toBe(1);
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'x', maxRetries: 0 });
    h.cloud.enqueue({ fault: 'status', status: 500 });
    await client.chat.completions.create({ model: 'unity', messages: [{ role: 'user', content: 'fall back' }] });
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(sample(text, 'unity_provider_up{provider="openai"}')).toBe(0);
    expect(sample(text, 'unity_provider_availability_ratio{provider="openai"}')).toBeLessThan(1);
    expect(text).toMatch(/^unity_host_disk_bytes\{path="[^"]+\/data",kind="total"\} [1-9]\d*$/m);
    expect(text).toMatch(/^unity_engine_process_memory_bytes\{kind="rss"\} [1-9]\d*$/m);
  });

  it('counts the tool calls of an agent run reported to /api/runs, each once, by outcome', async () => {
    const before = await (await fetch(`${h.url}/metrics`)).text();
    const succeeded = sample(before, 'unity_agent_tool_calls_total{outcome="succeeded"}') ?? 0;
    const failed = sample(before, 'unity_agent_tool_calls_total{outcome="failed"}') ?? 0;
    const reporter = new RunReporter({ url: h.url, kind: 'agent', flushIntervalMs: 0 });
    const result = (iteration: number, ok: boolean) => ({
      type: 'tool-result' as const,
      iteration,
      elapsedMs: iteration,
      call: { id: `c${iteration}`, name: 'read_file', arguments: {}, rawArguments: '{}' },
      result: { toolCallId: `c${iteration}`, name: 'read_file', ok, content: ok ? 'text' : 'no such file' },
    });
    for (const [i, ok] of [true, true, false].entries()) reporter.report(result(i + 1, ok));
    expect(await reporter.close()).toMatchObject({ sent: 3, dropped: 0 });
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(sample(text, 'unity_agent_tool_calls_total{outcome="succeeded"}')).toBe(succeeded + 2);
    expect(sample(text, 'unity_agent_tool_calls_total{outcome="failed"}')).toBe(failed + 1);
    expect(sample(text, 'unity_agent_tool_call_success_ratio')).toBeCloseTo((succeeded + 2) / (succeeded + failed + 3));
  });
});
