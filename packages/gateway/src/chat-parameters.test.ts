import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';
import { startServer } from './start-server';

let h: Harness;
let client: OpenAI;

beforeAll(async () => {
  h = await startHarness();
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 10_000 });
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

const ask = (content: string) => [{ role: 'user' as const, content }];
const tool = (name: string) => ({
  type: 'function' as const,
  function: { name, description: `the ${name} tool`, parameters: { type: 'object', properties: {} } },
});
const cloudBodies = () => h.cloud.requestsTo('/chat/completions').map((r) => r.body as Record<string, unknown>);
const ollamaBodies = () => h.local.requestsTo('/api/chat').map((r) => r.body as Record<string, unknown>);

/** The status and OpenAI error body of a refused call. */
async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  const apiError = error as InstanceType<typeof OpenAI.APIError>;
  return { status: apiError.status, param: apiError.param, message: apiError.message };
}

describe('Chat Completions parameters, with the official openai client', () => {
  it('passes tool_choice (a named function), parallel_tool_calls, sampling options and user to the upstream', async () => {
    h.cloud.enqueue({ toolCalls: [{ id: 'call_t', name: 'get_time', arguments: {} }] });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('time?'),
      tools: [tool('get_weather'), tool('get_time')],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      parallel_tool_calls: false,
      top_p: 0.7,
      frequency_penalty: 0.3,
      presence_penalty: -0.3,
      user: 'u-1',
    });
    expect(r.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_time' } });
    expect(cloudBodies()[0]).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      parallel_tool_calls: false,
      top_p: 0.7,
      frequency_penalty: 0.3,
      presence_penalty: -0.3,
      user: 'u-1',
    });
  });

  it.each(['required', 'none'] as const)('passes tool_choice %s on', async (choice) => {
    await client.chat.completions.create({
      model: 'unity',
      messages: ask('x'),
      tools: [tool('a')],
      tool_choice: choice,
    });
    expect(cloudBodies()[0]?.tool_choice).toBe(choice);
    expect(cloudBodies()[0]?.tools).toHaveLength(1);
  });

  it('returns logprobs with their top alternatives, in the answer and in the stream', async () => {
    h.cloud.enqueue({ text: 'two words' }, { text: 'two words' });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('x'),
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0]?.logprobs?.content ?? [];
    expect(content.map((t) => t.token).join('')).toBe('two words');
    expect(content[0]?.top_logprobs).toHaveLength(2);
    expect(typeof content[0]?.logprob).toBe('number');
    expect(cloudBodies()[0]).toMatchObject({ logprobs: true, top_logprobs: 2 });

    const stream = await client.chat.completions.create({
      model: 'unity',
      messages: ask('x'),
      logprobs: true,
      top_logprobs: 1,
      stream: true,
    });
    const tokens: string[] = [];
    for await (const chunk of stream) for (const t of chunk.choices[0]?.logprobs?.content ?? []) tokens.push(t.token);
    expect(tokens.join('')).toBe('two words');
  });

  it('answers n > 1 with n choices, each a call of its own (no cache reuse), usage counting the prompt once', async () => {
    h.cloud.enqueue(
      { text: 'first', usage: { promptTokens: 5, completionTokens: 1 } },
      { text: 'second', usage: { promptTokens: 5, completionTokens: 1 } },
      { text: 'third', usage: { promptTokens: 5, completionTokens: 1 } },
    );
    const r = await client.chat.completions.create({ model: 'unity', messages: ask('x'), n: 3, temperature: 1 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(r.choices.map((c) => c.message.content).sort()).toEqual(['first', 'second', 'third']);
    expect(r.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(cloudBodies()).toHaveLength(3);
  });

  it('passes top_k to a generic OpenAI-compatible upstream (vLLM and llama.cpp server take it)', async () => {
    await client.chat.completions.create({
      model: 'unity',
      messages: ask('x'),
      top_k: 5,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(cloudBodies()[0]?.top_k).toBe(5);
  });

  it('refuses with 400 naming the parameter what nothing here can honour, and asks nothing upstream', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ logit_bias: { '50256': -100 } }, 'logit_bias', 'drop logit_bias'],
      [{ modalities: ['text', 'audio'] }, 'modalities', 'ask for ["text"] only'],
      [{ functions: [{ name: 'f' }] }, 'functions', 'send tools'],
      [{ n: 2, stream: true }, 'n', 'send stream: false'],
      [{ top_logprobs: 2 }, 'top_logprobs', 'needs logprobs: true'],
      [{ tools: [tool('a')], tool_choice: { type: 'function', function: { name: 'b' } } }, 'tool_choice', '"b"'],
    ];
    for (const [extra, param, says] of cases) {
      const {
        status,
        param: named,
        message,
      } = await refusal(client.chat.completions.create({ model: 'unity', messages: ask('x'), ...extra } as never));
      expect([status, named], JSON.stringify(extra)).toEqual([400, param]);
      expect(message).toContain(says);
    }
    expect(cloudBodies()).toHaveLength(0);
    expect(ollamaBodies()).toHaveLength(0);
  });

  it("passes the reasoning effort of every protocol on: reasoning_effort, the Responses API's reasoning, Anthropic's thinking", async () => {
    await client.chat.completions.create({ model: 'unity', messages: ask('x'), reasoning_effort: 'low' });
    await client.responses.create({ model: 'unity', input: 'x', reasoning: { effort: 'high' } });
    const post = (body: unknown) =>
      fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(body),
      });
    const messages = { model: 'unity', max_tokens: 64, messages: ask('x') };
    expect((await post({ ...messages, thinking: { type: 'enabled', budget_tokens: 2048 } })).status).toBe(200);
    expect((await post({ ...messages, thinking: { type: 'disabled' } })).status).toBe(200);
    expect(cloudBodies().map((b) => b.reasoning_effort)).toEqual(['low', 'high', 'low', 'none']);
  });

  it('accepts fields that do not change the answer (metadata, store, service_tier)', async () => {
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('x'),
      metadata: { app: 'test' },
      store: false,
      service_tier: 'auto',
    });
    expect(r.choices[0]?.message.content).toBeTruthy();
  });
});

describe('Ollama parameters, with the official ollama client', () => {
  it("turns thinking off and on with Ollama's think", async () => {
    const ollama = new Ollama({ host: h.url });
    await ollama.chat({ model: 'ollama_chat/qwen2.5-coder:7b', messages: ask('a'), think: false });
    await ollama.generate({ model: 'ollama_chat/qwen2.5-coder:7b', prompt: 'b', think: true });
    expect(ollamaBodies().map((b) => b.think)).toEqual([false, true]);
  });

  it('maps options.top_p, top_k and the penalties, and returns logprobs', async () => {
    const ollama = new Ollama({ host: h.url });
    // The client's types lack logprobs (added in Ollama 0.12.11), but it sends the body as given.
    const request = {
      model: 'ollama_chat/qwen2.5-coder:7b',
      messages: ask('hi'),
      stream: false as const,
      options: { top_p: 0.6, top_k: 9, frequency_penalty: 0.2, presence_penalty: 0.1 },
      logprobs: true,
      top_logprobs: 1,
    };
    const r = await ollama.chat(request);
    expect(ollamaBodies()[0]).toMatchObject({
      options: { top_p: 0.6, top_k: 9, frequency_penalty: 0.2, presence_penalty: 0.1 },
      logprobs: true,
      top_logprobs: 1,
    });
    const logprobs = (r as unknown as { logprobs?: { token: string }[] }).logprobs ?? [];
    expect(logprobs.map((t) => t.token).join('')).toBe(r.message.content);
  });
});

/** A gateway whose chain is the embedded engine (which has no logprobs), then `then` if given. */
async function embeddedFirst(then: string | undefined, run: (client: OpenAI) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'unity-params-'));
  const configPath = join(dir, 'system.yaml');
  await writeFile(
    configPath,
    [
      'cloud_llm:',
      '  enabled: false',
      'models:',
      '  reasoning: llamacpp/stories260K',
      '  coding: llamacpp/stories260K',
      `  fallback: ${then ?? 'llamacpp/stories260K'}`,
      'ollama:',
      `  host: ${h.local.host}`,
      'llamacpp:',
      `  store_dir: ${JSON.stringify(dir)}`,
      'router:',
      '  last_resort: none',
      'server:',
      '  health_interval_seconds: 0',
    ].join('\n'),
  );
  const server = await startServer({ configPath, port: 0, env: {} });
  try {
    await run(new OpenAI({ baseURL: `${server.address}/v1`, apiKey: 'x', maxRetries: 0 }));
  } finally {
    await server.shutdown({ drainTimeoutMs: 500 });
    await rm(dir, { recursive: true, force: true });
  }
}

describe('a parameter a model cannot honour', () => {
  it('goes to a later model of the chain that can, and the attempts say why the first was skipped', async () => {
    await embeddedFirst('ollama_chat/qwen2.5-coder:7b', async (local) => {
      const { data, response } = await local.chat.completions
        .create({ model: 'unity', messages: ask('x'), logprobs: true })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe('echo: x');
      expect(response.headers.get('x-unity-attempts')).toBe(
        'llamacpp/stories260K UNSUPPORTED, ollama_chat/qwen2.5-coder:7b ok',
      );
      expect(ollamaBodies()[0]).toMatchObject({ logprobs: true });
    });
  });

  it('answers 400 UNSUPPORTED_PARAMETER naming it when no model of the chain can', async () => {
    await embeddedFirst(undefined, async (local) => {
      const { status, param, message } = await refusal(
        local.chat.completions.create({ model: 'unity', messages: ask('x'), logprobs: true }),
      );
      expect([status, param]).toEqual([400, 'logprobs']);
      expect(message).toContain('no model of the chain can honour logprobs');
      expect(message).toContain('llamacpp/stories260K cannot honour logprobs');
    });
  });
});
