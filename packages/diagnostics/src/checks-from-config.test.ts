import { createRouter, parseConfig, type UnityConfig } from '@unity/llm-router';
import { FakeOllama, FakeOpenAI, freePort } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CheckResult, overallStatus, runChecks } from './check';
import { type ConfigChecksOptions, checksFromConfig } from './checks-from-config';
import { HealthMonitor } from './health-monitor';

const key = 'sk-doctor';
let ollama: FakeOllama;
let cloud: FakeOpenAI;
beforeAll(async () => {
  ollama = await FakeOllama.start();
  cloud = await FakeOpenAI.start({ apiKey: key });
});
afterAll(async () => {
  await Promise.all([ollama.close(), cloud.close()]);
});
beforeEach(() => {
  ollama.reset();
  cloud.reset();
  ollama.setDefault({ text: 'ok' });
  cloud.setDefault({ text: 'ok' });
});

/** The seed's config pointed at the fakes, with more `cloud_llm:` lines and more top-level sections. */
function config(cloudLines: string[] = [], sections: string[] = [], ollamaHost = ollama.host): UnityConfig {
  return parseConfig(
    [
      'cloud_llm:',
      '  provider: minimax',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      ...cloudLines.map((l) => `  ${l}`),
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  coding: ollama_chat/qwen2.5-coder:7b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'ollama:',
      `  host: ${ollamaHost}`,
      ...sections,
    ].join('\n'),
    'system.yaml',
  );
}

const plenty = () => ({ freeBytes: 64e9, totalBytes: 128e9 });
const base: ConfigChecksOptions = { env: { MINIMAX_API_KEY: key }, readMemory: plenty, platform: 'linux' };

async function run(cfg: UnityConfig, options: Partial<ConfigChecksOptions> = {}): Promise<CheckResult[]> {
  const plan = checksFromConfig(cfg, { ...base, ...options });
  try {
    return await runChecks(plan.checks);
  } finally {
    await plan.close();
  }
}

const statuses = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.id, r.status]));

describe('checksFromConfig', () => {
  it('maps the seed config onto the Ollama, model, memory and cloud checks', () => {
    const { checks } = checksFromConfig(config(), base);
    expect(checks.map((c) => [c.id, c.required, c.provider])).toEqual([
      ['ollama-reachable', true, 'ollama'],
      ['model-pulled:qwen2.5-coder:7b', true, undefined],
      ['model-capabilities:qwen2.5-coder:7b', true, undefined],
      ['memory', false, undefined],
      ['cloud-key', false, 'minimax'],
      ['cloud-endpoint', false, 'minimax'],
      ['store-models', false, undefined],
    ]);
  });

  it('checks the model store where the router looks: llamacpp.store_dir, else UNITY_MODELS_DIR', async () => {
    const storeMessage = async (cfg: UnityConfig, env: Record<string, string>) => {
      const check = checksFromConfig(cfg, { ...base, env }).checks.find((c) => c.id === 'store-models');
      return (await check?.run())?.message;
    };
    const configured = config([], ['llamacpp:', '  store_dir: /srv/unity-models']);
    expect(await storeMessage(configured, { UNITY_MODELS_DIR: '/env/models' })).toContain('none in /srv/unity-models');
    expect(await storeMessage(config(), { UNITY_MODELS_DIR: '/env/models' })).toContain('none in /env/models');
  });

  it('is all ok when Ollama, the model, the memory and the cloud are healthy', async () => {
    const results = await run(config());
    expect(results.filter((r) => r.status !== 'ok').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(overallStatus(results)).toBe('ok');
  });

  it('fails when Ollama is down, skipping what depends on it', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const results = await run(config([], [], down));
    expect(statuses(results)).toMatchObject({
      'ollama-reachable': 'fail',
      'model-pulled:qwen2.5-coder:7b': 'skip',
      'model-capabilities:qwen2.5-coder:7b': 'skip',
      memory: 'skip',
      'cloud-endpoint': 'ok',
    });
    expect(overallStatus(results)).toBe('fail');
  });

  it('takes the Ollama host from OLLAMA_HOST when the config has none', async () => {
    const cfg = config();
    const withoutHost = { ...cfg, ollama: { ...cfg.ollama, host: undefined } } as UnityConfig;
    const results = await run(withoutHost, { env: { ...base.env, OLLAMA_HOST: ollama.host.replace('http://', '') } });
    expect(statuses(results)['ollama-reachable']).toBe('ok');
  });

  it('fails when a required model is missing, naming the pull command', async () => {
    const results = await run(config([], ['diagnostics:', '  require_models: ["qwen2.5-coder:7b", "llama3.2:1b"]']));
    const missing = results.find((r) => r.id === 'model-pulled:llama3.2:1b');
    expect(missing).toMatchObject({ status: 'fail', required: true, fix: '`ollama pull llama3.2:1b`' });
    expect(overallStatus(results)).toBe('fail');
  });

  it('only warns overall about a missing model that is in use but not required', async () => {
    const cfg = config([], ['diagnostics:', '  require_models: []']);
    const results = await run({ ...cfg, models: { ...cfg.models, coding: 'ollama_chat/mistral:7b' } });
    expect(results.find((r) => r.id === 'model-pulled:mistral:7b')).toMatchObject({ status: 'fail', required: false });
    expect(overallStatus(results)).toBe('warn');
  });

  it('warns about a missing key while fallback_to_local is on', async () => {
    const results = await run(config(), { env: {} });
    expect(statuses(results)).toMatchObject({ 'cloud-key': 'warn', 'cloud-endpoint': 'skip' });
    expect(overallStatus(results)).toBe('warn');
  });

  it('fails on a missing key when fallback_to_local is off', async () => {
    const results = await run(config(['fallback_to_local: false']), { env: {} });
    expect(results.find((r) => r.id === 'cloud-key')).toMatchObject({ status: 'fail', required: true });
    expect(overallStatus(results)).toBe('fail');
  });

  it('reads the key from the variable cloud_llm.api_key_env names', async () => {
    const results = await run(config(['api_key_env: MY_CLOUD_KEY']), { env: { MY_CLOUD_KEY: key } });
    expect(results.find((r) => r.id === 'cloud-key')?.message).toBe('MY_CLOUD_KEY is set');
    expect(statuses(results)['cloud-endpoint']).toBe('ok');
  });

  it('reports the cloud rejecting the key', async () => {
    const results = await run(config(), { env: { MINIMAX_API_KEY: 'revoked' } });
    expect(results.find((r) => r.id === 'cloud-endpoint')).toMatchObject({
      status: 'warn',
      up: false,
      message: expect.stringContaining('rejected the key in MINIMAX_API_KEY'),
    });
  });

  it('tolerates an ollama_chat/ prefix in require_models, checking each model once', () => {
    const cfg = config([], ['diagnostics:', '  require_models: ["ollama_chat/qwen2.5-coder:7b"]']);
    const ids = checksFromConfig(cfg, base).checks.map((c) => c.id);
    expect(ids.filter((id) => id.startsWith('model-pulled:'))).toEqual(['model-pulled:qwen2.5-coder:7b']);
  });

  it('leaves the cloud out when it is disabled or the config is local-only', () => {
    const ids = (cfg: UnityConfig) => checksFromConfig(cfg, base).checks.map((c) => c.id);
    expect(ids(config(['enabled: false']))).not.toContain('cloud-key');
    expect(ids(config([], ['privacy:', '  local_only: true']))).not.toContain('cloud-endpoint');
  });

  it('fails the capabilities of a local model without tools', async () => {
    const noTools = await FakeOllama.start({ models: [{ name: 'qwen2.5-coder:7b', capabilities: ['completion'] }] });
    try {
      const results = await run(config([], [], noTools.host));
      expect(results.find((r) => r.id === 'model-capabilities:qwen2.5-coder:7b')).toMatchObject({
        status: 'fail',
        message: expect.stringContaining('does not support tools'),
      });
    } finally {
      await noTools.close();
    }
  });
});

describe('checksFromConfig with deep', () => {
  /** Tool requests get a call to add, then (once the result is in) an answer; plain requests get text. */
  const toolScript = (request: { body: Record<string, unknown> }) => {
    const messages = request.body.messages as { role: string }[];
    if (!request.body.tools || messages.some((m) => m.role === 'tool')) return { text: 'The sum is 42.' };
    return { toolCalls: [{ name: 'add', arguments: { a: 17, b: 25 } }] };
  };

  it('adds a tool-call round trip per configured model and the local first-token latency', () => {
    const { checks } = checksFromConfig(config(), { ...base, deep: true });
    expect(checks.slice(7).map((c) => [c.id, c.dependsOn])).toEqual([
      ['tool-call:minimax/MiniMax-M2', ['cloud-endpoint']],
      ['latency:ollama_chat/qwen2.5-coder:7b', ['model-pulled:qwen2.5-coder:7b']],
      ['tool-call:ollama_chat/qwen2.5-coder:7b', ['model-pulled:qwen2.5-coder:7b']],
    ]);
  });

  it('gives a role model on another OpenAI-compatible provider a tool-call round trip of its own', () => {
    const cfg = config();
    const withOpenAI = { ...cfg, models: { ...cfg.models, reasoning: 'openai/gpt-4o-mini' } };
    const deep = checksFromConfig(withOpenAI, { ...base, deep: true }).checks.filter((c) => c.id.includes('/'));
    expect(deep.map((c) => [c.id, c.dependsOn])).toEqual([
      ['tool-call:minimax/MiniMax-M2', ['cloud-endpoint']],
      ['tool-call:openai/gpt-4o-mini', []],
      ['latency:ollama_chat/qwen2.5-coder:7b', ['model-pulled:qwen2.5-coder:7b']],
      ['tool-call:ollama_chat/qwen2.5-coder:7b', ['model-pulled:qwen2.5-coder:7b']],
    ]);
  });

  it('passes with models that call tools, each check talking only to its own model', async () => {
    ollama.setDefault(toolScript);
    cloud.setDefault(toolScript);
    const results = await run(config(), { deep: true, slowFirstTokenMs: 60_000 });
    expect(results.filter((r) => r.status !== 'ok').map((r) => `${r.id}: ${r.message}`)).toEqual([]);
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(2);
    expect(ollama.requestsTo('/api/chat')).toHaveLength(3);
  });

  it('fails the round trip of a model that answers in text, without falling back to another model', async () => {
    cloud.setDefault(toolScript);
    ollama.setDefault({ text: 'It is 42.' });
    const results = await run(config(), { deep: true, slowFirstTokenMs: 60_000 });
    expect(statuses(results)).toMatchObject({
      'tool-call:minimax/MiniMax-M2': 'ok',
      'tool-call:ollama_chat/qwen2.5-coder:7b': 'fail',
    });
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('fails the cloud round trip once, with no retry, when the cloud errors', async () => {
    cloud.setDefault({ fault: 'status', status: 500 });
    ollama.setDefault(toolScript);
    const results = await run(config(), { deep: true, slowFirstTokenMs: 60_000 });
    expect(statuses(results)['tool-call:minimax/MiniMax-M2']).toBe('fail');
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(1);
  });
});

describe('the router skipping a provider the monitor reports down', () => {
  it('uses the same provider ids as the router', async () => {
    const cfg = config();
    const monitor = new HealthMonitor({ checks: checksFromConfig(cfg, { ...base, env: {} }).checks });
    await monitor.runOnce();
    expect([monitor.isUp('ollama'), monitor.isUp('minimax')]).toEqual([true, false]);

    const router = createRouter({ config: cfg, env: { MINIMAX_API_KEY: key }, health: monitor });
    try {
      const answer = await router.chat({ messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.provider).toBe('ollama');
      expect(answer.attempts[0]).toMatchObject({ provider: 'minimax', error: { code: 'UNHEALTHY' } });
      expect(cloud.requestsTo('/chat/completions')).toHaveLength(0);
    } finally {
      await router.close();
    }
  });
});
