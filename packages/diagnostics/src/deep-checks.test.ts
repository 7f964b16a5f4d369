import type { ChatModel } from '@unity/core';
import { createOllamaProvider, createOpenAICompatibleProvider } from '@unity/llm-router/internal';
import { FakeOllama, FakeOpenAI } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { firstTokenLatencyCheck, toolCallCheck } from './deep-checks';
import { providerModel } from './provider-model';

let ollama: FakeOllama;
let cloud: FakeOpenAI;
let local: ChatModel;
let noTools: ChatModel;
let minimax: ChatModel;
beforeAll(async () => {
  ollama = await FakeOllama.start({
    models: [{ name: 'qwen2.5-coder:7b' }, { name: 'gemma:2b', capabilities: ['completion'] }],
  });
  cloud = await FakeOpenAI.start({ apiKey: 'k' });
  const ollamaProvider = createOllamaProvider({ id: 'ollama', host: ollama.host });
  local = providerModel(ollamaProvider, 'qwen2.5-coder:7b');
  noTools = providerModel(ollamaProvider, 'gemma:2b');
  minimax = providerModel(
    createOpenAICompatibleProvider({ id: 'minimax', baseURL: cloud.baseURL, apiKey: 'k', flavor: 'minimax' }),
    'MiniMax-M2',
  );
});
afterAll(async () => {
  await Promise.all([ollama.close(), cloud.close()]);
});
beforeEach(() => {
  ollama.reset();
  cloud.reset();
});

/** A clock that advances by `stepMs` at each reading: the measured latency is exactly `stepMs`. */
const steppingClock = (stepMs: number) => {
  let t = 0;
  return () => (t += stepMs);
};

describe('firstTokenLatencyCheck', () => {
  it('asks for one token and is ok under the threshold', async () => {
    const check = firstTokenLatencyCheck({
      label: 'ollama_chat/qwen2.5-coder:7b',
      model: local,
      cloudEnabled: true,
      now: steppingClock(1200),
    });
    expect(await check.run()).toEqual({
      status: 'ok',
      message: 'first token after 1.2 s',
      data: { firstTokenMs: 1200 },
    });
    const body = ollama.requestsTo('/api/chat')[0]?.body as { options: { num_predict: number } };
    expect(body.options.num_predict).toBe(1);
  });

  it('warns over the threshold and says to enable the cloud in the config file', async () => {
    const check = firstTokenLatencyCheck({
      label: 'ollama_chat/qwen2.5-coder:7b',
      model: local,
      thresholdMs: 5000,
      cloudEnabled: false,
      configFile: 'configs/system.yaml',
      now: steppingClock(7300),
    });
    expect(await check.run()).toMatchObject({
      status: 'warn',
      message: 'first token after 7.3 s, over the 5.0 s threshold',
      fix: 'enable the cloud: set cloud_llm.enabled: true in configs/system.yaml',
    });
  });

  it('fails when the model does not answer within its timeout, naming the option', async () => {
    ollama.enqueue({ fault: 'hang' });
    const check = firstTokenLatencyCheck({ label: 'm', model: local, cloudEnabled: true, timeoutMs: 100 });
    expect(await check.run()).toMatchObject({
      status: 'fail',
      message: 'the model did not answer: no answer within 100 ms (timeoutMs)',
    });
  });

  it('fails with the provider’s fix when the model errors', async () => {
    ollama.enqueue({
      fault: 'status',
      status: 404,
      message: 'model "qwen2.5-coder:7b" not found, try pulling it first',
    });
    const outcome = await firstTokenLatencyCheck({ label: 'm', model: local, cloudEnabled: true }).run();
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toContain('not found');
    expect(outcome.fix).toContain('ollama pull');
  });
});

describe('toolCallCheck', () => {
  it('passes a full round trip: a call to add, then an answer after the result', async () => {
    ollama.enqueue({ toolCalls: [{ name: 'add', arguments: { a: 17, b: 25 } }] }, { text: 'The sum is 42.' });
    const outcome = await toolCallCheck({ label: 'ollama_chat/qwen2.5-coder:7b', model: local }).run();
    expect(outcome).toEqual({ status: 'ok', message: 'called add(17, 25) and answered with the result' });
    const second = ollama.requestsTo('/api/chat')[1]?.body as { messages: { role: string; content: string }[] };
    expect(second.messages.at(-1)).toMatchObject({ role: 'tool', content: '42' });
  });

  it('works with the cloud model too', async () => {
    cloud.enqueue({ toolCalls: [{ name: 'add', arguments: { a: 17, b: 25 } }] }, { text: '42' });
    expect((await toolCallCheck({ label: 'minimax/MiniMax-M2', model: minimax }).run()).status).toBe('ok');
  });

  it('fails when the model answers in text instead of calling the tool', async () => {
    ollama.enqueue({ text: 'It is 42.' });
    const outcome = await toolCallCheck({ label: 'm', model: local }).run();
    expect(outcome).toMatchObject({
      status: 'fail',
      message: 'no tool call: the model answered "It is 42." instead of calling add',
    });
  });

  it('fails for a model without tool support', async () => {
    const outcome = await toolCallCheck({ label: 'ollama_chat/gemma:2b', model: noTools }).run();
    expect(outcome.status).toBe('fail');
    expect(outcome.message).toMatch(/tools/);
  });

  it('fails when the arguments are not two numbers', async () => {
    ollama.enqueue({ toolCalls: [{ name: 'add', arguments: { a: 'seventeen', b: 25 } }] });
    const outcome = await toolCallCheck({ label: 'm', model: local }).run();
    expect(outcome).toMatchObject({ status: 'fail', message: expect.stringContaining('not two numbers') });
  });

  it('fails when no answer follows the tool result', async () => {
    ollama.enqueue({ toolCalls: [{ name: 'add', arguments: { a: 17, b: 25 } }] }, { text: '' });
    const outcome = await toolCallCheck({ label: 'm', model: local }).run();
    expect(outcome.message).toBe('called add, but gave no answer after receiving the result');
  });

  it('fails when the cloud refuses the request (HTTP 500)', async () => {
    cloud.enqueue({ fault: 'status', status: 500 });
    const outcome = await toolCallCheck({ label: 'minimax/MiniMax-M2', model: minimax }).run();
    expect(outcome).toMatchObject({ status: 'fail', message: expect.stringContaining('HTTP 500') });
  });
});
