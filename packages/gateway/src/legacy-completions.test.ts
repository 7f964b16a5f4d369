import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

let h: Harness;
let client: OpenAI;

beforeAll(async () => {
  h = await startHarness({ extraYaml: '  model_aliases:\n    gpt-3.5-turbo-instruct: unity\n' });
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

type SentBody = {
  messages: { role: string; content: string }[];
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string[];
};
const sent = () => h.cloud.requestsTo('/chat/completions')[0]?.body as SentBody;

describe('legacy POST /v1/completions, with the official openai client', () => {
  it('answers a prompt as a text_completion, the prompt sent as one user turn with the cap and stop', async () => {
    h.cloud.enqueue({ text: ' there was a fox', usage: { promptTokens: 4, completionTokens: 4 } });
    const r = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Once upon a time',
      max_tokens: 40,
      stop: ['\n\n'],
    });
    expect(r.object).toBe('text_completion');
    expect(r.model).toBe('gpt-3.5-turbo-instruct');
    expect(r.choices).toEqual([{ text: ' there was a fox', index: 0, logprobs: null, finish_reason: 'stop' }]);
    expect(r.usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    const body = sent();
    expect(body.messages).toEqual([{ role: 'user', content: 'Once upon a time' }]);
    expect(body.max_tokens ?? body.max_completion_tokens).toBe(40);
    expect(body.stop).toEqual(['\n\n']);
  });

  it('caps an answer at OpenAI’s default of 16 tokens when max_tokens is absent, saying "length" when cut', async () => {
    h.cloud.enqueue({ text: 'a b c d e f g h i j k l m n o p', finishReason: 'length' });
    const r = await client.completions.create({ model: 'unity', prompt: ['count'] });
    const body = sent();
    expect(body.max_tokens ?? body.max_completion_tokens).toBe(16);
    expect(r.choices[0]?.finish_reason).toBe('length');
  });

  it('honours echo: the prompt leads the text, streamed or not', async () => {
    h.cloud.enqueue({ text: ' the end' });
    const whole = await client.completions.create({ model: 'unity', prompt: 'This is', echo: true });
    expect(whole.choices[0]?.text).toBe('This is the end');
    h.cloud.enqueue({ text: ' the end' });
    const stream = await client.completions.create({ model: 'unity', prompt: 'This is', echo: true, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('This is the end');
  });

  it('streams text_completion chunks ending with a finish reason, usage when asked, and [DONE]', async () => {
    h.cloud.enqueue({ text: 'one two three four', usage: { promptTokens: 2, completionTokens: 4 } });
    const raw = await fetch(`${h.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', prompt: 'count', stream: true, stream_options: { include_usage: true } }),
    });
    expect(raw.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = (await raw.text()).split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe('one two three four');
    expect(chunks.filter((c) => c.choices[0]?.text).length).toBeGreaterThan(1);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });

  it('refuses a suffix with 400 naming it, sending nothing upstream', async () => {
    const error = await client.completions
      .create({ model: 'unity', prompt: 'def f(', suffix: '    return x' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('suffix');
    expect(error.message).toContain('suffix: insertion (a suffix after the completion) is not supported');
    expect(error.message).toContain('leave suffix out');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('refuses several prompts and token-id prompts with 400 naming the prompt', async () => {
    const several = await client.completions.create({ model: 'unity', prompt: ['a', 'b'] }).catch((e) => e);
    expect(several.status).toBe(400);
    expect(several.message).toContain('prompt: 2 prompts in one request are not supported');
    const tokens = await client.completions.create({ model: 'unity', prompt: [1, 2, 3] }).catch((e) => e);
    expect(tokens.message).toContain('prompt: token-id prompts are not supported');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('answers an unknown model with 404 in OpenAI’s shape', async () => {
    const error = await client.completions.create({ model: 'davinci-002', prompt: 'x' }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.message).toContain('model "davinci-002" is not served here');
  });
});

describe('GET /v1/models/{id}', () => {
  it('describes a served name, an alias and a model string with slashes', async () => {
    expect(await client.models.retrieve('unity')).toMatchObject({ id: 'unity', object: 'model', owned_by: 'unity' });
    expect(await client.models.retrieve('gpt-3.5-turbo-instruct')).toMatchObject({ id: 'gpt-3.5-turbo-instruct' });
    expect(await client.models.retrieve('ollama_chat/qwen2.5-coder:7b')).toMatchObject({
      id: 'ollama_chat/qwen2.5-coder:7b',
      owned_by: 'local',
    });
  });

  it('answers an unknown id with 404 in OpenAI’s error shape', async () => {
    const error = await client.models.retrieve('gpt-5').catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'unknown_model' });
    expect(error.message).toContain('model "gpt-5" is not served here; known models: unity');
  });
});
