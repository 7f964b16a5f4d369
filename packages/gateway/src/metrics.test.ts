import { tmpdir } from 'node:os';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { EventBus } from './event-bus';
import { GatewayMetrics } from './metrics';

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
});
