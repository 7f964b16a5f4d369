import type { ChatResponse, ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { ask, type ConfigPatch, collect, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import { RouterError } from './errors';
import type { Provider, ProviderFeatures, ProviderRequest } from './provider';
import type { Router, RouterOptions } from './router';

const bed = useRouterTestBed();
const { fakes } = bed;

function use(patch: ConfigPatch = {}, options: Partial<RouterOptions> = {}): Router {
  return bed.use(routerFor(fakeConfig(fakes, patch), options));
}

const tool = (name: string): ToolDefinition => ({
  name,
  description: `the ${name} tool`,
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
});
const weather = tool('get_weather');
const time = tool('get_time');
const localOnly: ConfigPatch = { cloud_llm: { enabled: false } };
const cloudBody = () => fakes.cloud.requestsTo('/chat/completions')[0]?.body as Record<string, unknown>;
const ollamaBodies = () => fakes.ollama.requestsTo('/api/chat').map((r) => r.body as Record<string, unknown>);

describe('request options reach the upstream', () => {
  it('passes every Chat Completions option to an OpenAI-compatible upstream under its wire name', async () => {
    const r = use();
    await r.chat({
      ...ask('hi'),
      tools: [weather, time],
      toolChoice: { name: 'get_time' },
      parallelToolCalls: false,
      topP: 0.9,
      frequencyPenalty: 0.5,
      presencePenalty: -0.5,
      logprobs: { top: 3 },
      user: 'user-42',
      seed: 7,
    });
    expect(cloudBody()).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      parallel_tool_calls: false,
      top_p: 0.9,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      logprobs: true,
      top_logprobs: 3,
      user: 'user-42',
      seed: 7,
    });
  });

  it("maps sampling options into Ollama's options and asks it for logprobs", async () => {
    const r = use(localOnly);
    await r.chat({
      ...ask('hi'),
      topP: 0.8,
      topK: 20,
      frequencyPenalty: 0.1,
      presencePenalty: 0.2,
      logprobs: { top: 2 },
    });
    expect(ollamaBodies()[0]).toMatchObject({
      options: { top_p: 0.8, top_k: 20, frequency_penalty: 0.1, presence_penalty: 0.2 },
      logprobs: true,
      top_logprobs: 2,
    });
  });

  it("asks for the reasoning effort: OpenAI's reasoning_effort, Ollama's think on or off", async () => {
    await use().chat({ ...ask('hi'), reasoningEffort: 'low' });
    expect(cloudBody().reasoning_effort).toBe('low');
    const local = use(localOnly);
    await local.chat({ ...ask('hi'), reasoningEffort: 'none' });
    await local.chat({ ...ask('hi'), reasoningEffort: 'high' });
    expect(ollamaBodies().map((b) => b.think)).toEqual([false, true]);
  });

  it('caps the output of a request that sets none: router.max_output_tokens for local models', async () => {
    const r = use({ ...localOnly, router: { max_output_tokens: 321 } });
    await r.chat(ask('hi'));
    await r.chat({ ...ask('hi'), maxOutputTokens: 12 });
    expect(ollamaBodies().map((b) => (b.options as { num_predict?: number }).num_predict)).toEqual([321, 12]);
  });

  it('caps cloud requests by cloud_llm.max_tokens, not the local cap', async () => {
    const r = use({ cloud_llm: { max_tokens: 555 }, router: { max_output_tokens: 321 } });
    await r.chat(ask('hi'));
    expect(cloudBody().max_completion_tokens).toBe(555);
  });
});

describe('tool choice on a provider without it (Ollama): enforced by the router', () => {
  it('withholds the tools for toolChoice none', async () => {
    const r = use(localOnly);
    await r.chat({ ...ask('hi'), tools: [weather], toolChoice: 'none' });
    expect(ollamaBodies()[0]?.tools).toBeUndefined();
  });

  it('offers only the named tool, tells the model to call it, and returns its call', async () => {
    fakes.ollama.enqueue({ toolCalls: [{ name: 'get_time', arguments: { city: 'Oslo' } }] });
    const r = use(localOnly);
    const response = await r.chat({ ...ask('time?'), tools: [weather, time], toolChoice: { name: 'get_time' } });
    expect(response.toolCalls.map((c) => c.name)).toEqual(['get_time']);
    const body = ollamaBodies()[0]!;
    expect((body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual(['get_time']);
    const messages = body.messages as { role: string; content: string }[];
    expect(messages[0]).toMatchObject({ role: 'system' });
    expect(messages[0]?.content).toContain('"get_time"');
  });

  it('retries a model that answers with text when a call is required, then serves the call', async () => {
    fakes.ollama.enqueue({ text: 'I would rather chat.' }, { toolCalls: [{ name: 'get_weather', arguments: {} }] });
    const r = use({ ...localOnly, router: { retries: { max_retries: 1, initial_delay_ms: 1, max_delay_ms: 1 } } });
    const response = await r.chat({ ...ask('weather?'), tools: [weather], toolChoice: 'required' });
    expect(response.toolCalls.map((c) => c.name)).toEqual(['get_weather']);
    expect(ollamaBodies()).toHaveLength(2);
  });

  it('falls back when the model keeps answering with text, and the failure says what toolChoice required', async () => {
    fakes.ollama.enqueue({ text: 'no tools today' });
    const r = use(localOnly);
    const error = await r.chat({ ...ask('x'), tools: [weather], toolChoice: 'required' }).catch((e: unknown) => e);
    expect(RouterError.isInstance(error) && error.code).toBe('ALL_PROVIDERS_FAILED');
    const reasons = (error as RouterError).attempts.map((a) => a.error?.message ?? '');
    expect(reasons[0]).toContain('gave a text answer where toolChoice required a tool call');
    // The fallback model has no tool support at all: skipped, nothing sent.
    expect((error as RouterError).attempts.map((a) => a.error?.code)).toEqual(['BAD_RESPONSE', 'UNSUPPORTED']);
  });

  it('streams a required call only after checking it (a text answer never reaches the stream)', async () => {
    fakes.ollama.enqueue({ text: 'chatting instead' }, { toolCalls: [{ name: 'get_weather', arguments: {} }] });
    const r = use({ ...localOnly, router: { retries: { max_retries: 1, initial_delay_ms: 1, max_delay_ms: 1 } } });
    const { events } = await collect(r.stream({ ...ask('x'), tools: [weather], toolChoice: 'required' }));
    expect(events.filter((e) => e.type === 'text-delta')).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['tool-call', 'finish']);
    const finish = events.at(-1) as { response: { attempts: { model: string; ok: boolean }[] } };
    expect(finish.response.attempts.map((a) => [a.model, a.ok])).toEqual([
      ['ollama_chat/qwen2.5-coder:7b', false],
      ['ollama_chat/qwen2.5-coder:7b', true],
    ]);
  });

  it('keeps only the first call when parallel tool calls are off', async () => {
    const calls = [
      { name: 'get_weather', arguments: {} },
      { name: 'get_time', arguments: {} },
    ];
    fakes.ollama.enqueue({ toolCalls: calls }, { toolCalls: calls });
    const r = use(localOnly);
    const request = { ...ask('x'), tools: [weather, time], parallelToolCalls: false };
    expect((await r.chat(request)).toolCalls.map((c) => c.name)).toEqual(['get_weather']);
    const { events } = await collect(r.stream(request));
    expect(events.filter((e) => e.type === 'tool-call')).toHaveLength(1);
  });

  it('refuses a toolChoice that names a tool the request does not offer, before contacting anything', async () => {
    const r = use();
    const error = await r.chat({ ...ask('x'), tools: [weather], toolChoice: { name: 'rm_rf' } }).catch((e) => e);
    expect(RouterError.isInstance(error) && error.code).toBe('INVALID_REQUEST');
    expect((error as RouterError).param).toBe('toolChoice');
    expect((error as RouterError).message).toContain('"rm_rf", which is not among the offered tools (get_weather)');
    const required = await r.chat({ ...ask('x'), toolChoice: 'required' }).catch((e) => e);
    expect((required as RouterError).code).toBe('INVALID_REQUEST');
    expect(fakes.cloud.requests).toHaveLength(0);
    expect(fakes.ollama.requests).toHaveLength(0);
  });
});

/** A provider that answers "ok from <id>" and honours only what `features` says. */
function scripted(id: string, features: ProviderFeatures): Provider & { seen: ProviderRequest[] } {
  const seen: ProviderRequest[] = [];
  const answer = (request: ProviderRequest): ChatResponse => ({
    content: `ok from ${id}`,
    toolCalls: [],
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    finishReason: 'stop',
    model: request.model,
  });
  return {
    id,
    kind: 'ollama',
    remote: false,
    features,
    seen,
    async chat(request) {
      seen.push(request);
      return answer(request);
    },
    async *stream(request) {
      seen.push(request);
      const response = answer(request);
      yield { type: 'text-delta', text: response.content };
      yield { type: 'finish', finishReason: 'stop', usage: response.usage, model: response.model };
    },
  };
}

const all: ProviderFeatures = {
  toolChoice: true,
  parallelToolCalls: true,
  logprobs: true,
  topK: true,
  penalties: true,
  reasoning: true,
};

describe('an option a provider cannot honour', () => {
  it('goes to the next model of the chain that honours it, never silently dropped', async () => {
    const first = scripted('first', { ...all, logprobs: false });
    const second = scripted('second', all);
    const routed = use(
      { cloud_llm: { enabled: true, provider: 'openai', model: 'gpt-4o-mini' } },
      { providers: { openai: first, ollama: second } },
    );
    const response = await routed.chat({ ...ask('hi'), logprobs: { top: 1 } });
    expect(response.provider).toBe('ollama');
    expect(response.attempts[0]).toMatchObject({ provider: 'openai', skipped: true, error: { code: 'UNSUPPORTED' } });
    expect(response.attempts[0]?.error?.message).toContain('cannot honour logprobs');
    expect(first.seen).toHaveLength(0);
    expect(second.seen[0]?.logprobs).toEqual({ top: 1 });
  });

  it('is refused with UNSUPPORTED_PARAMETER naming it when no model of the chain honours it', async () => {
    const limited = scripted('limited', { ...all, topK: false, penalties: false, reasoning: false });
    const r = use(localOnly, { providers: { ollama: limited } });
    for (const [request, param] of [
      [{ ...ask('hi'), reasoningEffort: 'high' }, 'reasoningEffort'],
      [{ ...ask('hi'), topK: 5 }, 'topK'],
      [{ ...ask('hi'), presencePenalty: 1 }, 'presencePenalty'],
    ] as const) {
      const error = await r.chat(request).catch((e: unknown) => e);
      expect(RouterError.isInstance(error) && error.code).toBe('UNSUPPORTED_PARAMETER');
      expect((error as RouterError).param).toBe(param);
      expect((error as RouterError).message).toContain(`no model of the chain can honour ${param}`);
      expect((error as RouterError).fix).toContain(`drop ${param}`);
    }
    expect(limited.seen).toHaveLength(0);
  });

  it('passes everything to a provider that declares no features (it passes them on)', async () => {
    const plain = scripted('plain', all);
    const { features: _none, ...withoutFeatures } = plain;
    const r = use(localOnly, { providers: { ollama: withoutFeatures } });
    await r.chat({ ...ask('hi'), topK: 5, logprobs: { top: 1 }, tools: [weather], toolChoice: 'required' });
    expect(plain.seen[0]).toMatchObject({ topK: 5, logprobs: { top: 1 }, toolChoice: 'required' });
  });
});

describe('the cache and sampling', () => {
  it('neither reads nor fills the cache for a request with cache: false', async () => {
    const r = use({ router: { cache: { enabled: true } } });
    await r.chat(ask('same'));
    expect((await r.chat(ask('same'))).cached).toBe(true);
    expect((await r.chat({ ...ask('same'), cache: false })).cached).toBeUndefined();
    expect(fakes.cloud.requests).toHaveLength(2);
  });

  it('tells apart requests that differ only in a sampling option', async () => {
    const r = use({ router: { cache: { enabled: true } } });
    await r.chat({ ...ask('same'), topP: 0.5 });
    expect((await r.chat({ ...ask('same'), topP: 0.9 })).cached).toBeUndefined();
  });
});
