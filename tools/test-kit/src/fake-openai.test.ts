import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cosineSimilarity } from './embedding';
import { FakeOpenAI } from './fake-openai';

let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await FakeOpenAI.start({ apiKey: 'sk-test' });
  client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'sk-test', maxRetries: 0, timeout: 5_000 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ask = (content: string) => [{ role: 'user' as const, content }];

describe('FakeOpenAI with the official openai client', () => {
  it('lists its models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([
      'MiniMax-M2',
      'gpt-4o-mini',
      'text-embedding-3-small',
      'text-embedding-3-large',
      'text-embedding-ada-002',
    ]);
  });

  it('answers a non-streaming chat with the echo default and usage', async () => {
    const r = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('hello there') });
    expect(r.choices[0]?.message.content).toBe('echo: hello there');
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it('streams content as SSE chunks and ends with usage when asked', async () => {
    fake.enqueue({ text: 'one two three' });
    const stream = await client.chat.completions.create({
      model: 'MiniMax-M2',
      messages: ask('count'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces).toEqual(['one ', 'two ', 'three']);
    expect(usage).toMatchObject({ completion_tokens: 3 });
  });

  it('streams tool calls as deltas by index that the client reassembles', async () => {
    fake.enqueue({
      toolCalls: [
        { name: 'read_file', arguments: { path: 'src/index.ts' } },
        { name: 'list_files', arguments: { path: '.' } },
      ],
    });
    const stream = client.chat.completions.stream({ model: 'MiniMax-M2', messages: ask('look') });
    const final = await stream.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(
      calls.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : [])),
    ).toEqual([
      ['read_file', { path: 'src/index.ts' }],
      ['list_files', { path: '.' }],
    ]);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('puts MiniMax reasoning in <think> unless reasoning_split is sent', async () => {
    fake.enqueue({ reasoning: 'think hard', text: 'answer' }, { reasoning: 'think hard', text: 'answer' });
    const inline = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('q') });
    expect(inline.choices[0]?.message.content).toBe('<think>\nthink hard\n</think>\n\nanswer');
    const split = await client.chat.completions.create({
      model: 'MiniMax-M2',
      messages: ask('q'),
      // @ts-expect-error MiniMax extension
      reasoning_split: true,
    });
    expect(split.choices[0]?.message.content).toBe('answer');
    const message = split.choices[0]?.message as unknown as { reasoning_details: { text: string }[] };
    expect(message.reasoning_details[0]?.text).toBe('think hard');
  });

  it('records what the client sent, headers included', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('x'), temperature: 0.2 });
    const [request] = fake.requestsTo('/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer sk-test');
    expect(request?.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2 });
  });

  it('rejects a wrong key with 401 and an unknown model with 404 in OpenAI error shape', async () => {
    const bad = new OpenAI({ baseURL: fake.baseURL, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(client.chat.completions.create({ model: 'nope', messages: ask('x') })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });
});

describe('FakeOpenAI faults', () => {
  it('returns 429 with Retry-After', async () => {
    fake.enqueue({ fault: 'status', status: 429, retryAfter: 7 });
    const error = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.headers.get('retry-after')).toBe('7');
  });

  it('returns 500 and 503 in the error shape', async () => {
    fake.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 503 });
    await expect(client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') })).rejects.toMatchObject({
      status: 500,
    });
    await expect(client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') })).rejects.toMatchObject({
      status: 503,
    });
  });

  it('refuses connections while refusing, and serves again after accept()', async () => {
    await fake.refuse();
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await fake.accept();
    await expect(client.models.list()).resolves.toBeTruthy();
  });

  it('resets the connection', async () => {
    fake.enqueue({ fault: 'reset' });
    await expect(client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionError,
    );
  });

  it('hangs until the client times out, and records the abort', async () => {
    fake.enqueue({ fault: 'hang' });
    const quick = new OpenAI({ baseURL: fake.baseURL, apiKey: 'sk-test', maxRetries: 0, timeout: 200 });
    await expect(quick.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
    await expect.poll(() => fake.requests[0]?.aborted).toBe(true);
  });

  it('delays the first byte', async () => {
    fake.enqueue({ fault: 'slow-first-byte', ms: 150, reply: { text: 'late' } });
    const started = performance.now();
    const r = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') });
    expect(r.choices[0]?.message.content).toBe('late');
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('cuts a stream before the first token and after N chunks', async () => {
    fake.enqueue(
      { fault: 'cut-before-first-token' },
      { fault: 'cut-after-chunks', chunks: 2, reply: { text: 'a b c d' } },
    );
    const collect = async () => {
      const pieces: string[] = [];
      const stream = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x'), stream: true });
      try {
        for await (const chunk of stream)
          if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
      } catch (error) {
        return { pieces, error };
      }
      return { pieces, error: undefined };
    };
    const first = await collect();
    expect(first.pieces).toEqual([]);
    expect(first.error).toBeDefined();
    const second = await collect();
    expect(second.pieces).toEqual(['a ', 'b ']);
    expect(second.error).toBeDefined();
  });

  it('sends malformed JSON, streamed and not', async () => {
    fake.enqueue({ fault: 'malformed-json' }, { fault: 'malformed-json' });
    await expect(client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') })).rejects.toThrow();
    const stream = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x'), stream: true });
    await expect(async () => {
      for await (const _ of stream) {
        /* drain */
      }
    }).rejects.toThrow();
  });

  it('sends an error event inside a stream', async () => {
    fake.enqueue({ fault: 'stream-error', chunks: 1, message: 'overloaded mid-stream' });
    const stream = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('a b'), stream: true });
    await expect(async () => {
      for await (const _ of stream) {
        /* drain */
      }
    }).rejects.toThrow('overloaded mid-stream');
  });

  it('answers HTTP 200 with base_resp.status_code != 0 and no choices, as MiniMax does', async () => {
    fake.enqueue({ fault: 'base-resp', statusCode: 1004, statusMsg: 'login fail' });
    const r = await client.chat.completions.create({ model: 'MiniMax-M2', messages: ask('x') });
    expect(r.choices).toBeNull();
    expect((r as unknown as { base_resp: unknown }).base_resp).toEqual({ status_code: 1004, status_msg: 'login fail' });
  });

  it('computes a step from the request when given a function', async () => {
    fake.enqueue((request) => ({ text: `model was ${String(request.body.model)}` }));
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('x') });
    expect(r.choices[0]?.message.content).toBe('model was gpt-4o-mini');
  });
});

describe('FakeOpenAI chat parameters', () => {
  it('returns n choices, each with its own text, and counts their tokens in usage', async () => {
    fake.enqueue({ text: 'first answer', choiceTexts: ['second one here'] });
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('x'), n: 3 });
    expect(r.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'first answer'],
      [1, 'second one here'],
      [2, 'first answer'],
    ]);
    expect(r.usage?.completion_tokens).toBe(2 + 3 + 2);
  });

  it('returns token logprobs with top_logprobs whose tokens join to the content', async () => {
    fake.enqueue({ text: 'hello there world' });
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: ask('x'),
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0]?.logprobs?.content ?? [];
    expect(content.map((t) => t.token).join('')).toBe('hello there world');
    for (const t of content) {
      expect(t.logprob).toBeLessThan(0);
      expect(t.bytes).toEqual([...Buffer.from(t.token)]);
      expect(t.top_logprobs).toHaveLength(2);
      expect(t.top_logprobs[0]).toMatchObject({ token: t.token, logprob: t.logprob });
      expect(t.top_logprobs[1]?.logprob).toBeLessThan(t.logprob);
    }
  });

  it('leaves logprobs null unless asked, and refuses top_logprobs without logprobs', async () => {
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('x') });
    expect(plain.choices[0]?.logprobs).toBeNull();
    await expect(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('x'), top_logprobs: 2 }),
    ).rejects.toMatchObject({ status: 400, param: 'top_logprobs' });
  });

  it('streams logprobs with each content chunk', async () => {
    fake.enqueue({ text: 'a b' });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: ask('x'),
      stream: true,
      logprobs: true,
      top_logprobs: 1,
    });
    const tokens: string[] = [];
    for await (const chunk of stream) {
      for (const t of chunk.choices[0]?.logprobs?.content ?? []) {
        expect(t.token).toBe(chunk.choices[0]?.delta.content);
        expect(t.top_logprobs).toHaveLength(1);
        tokens.push(t.token);
      }
    }
    expect(tokens).toEqual(['a ', 'b']);
  });

  it('records the parameters it received', async () => {
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: ask('x'),
      top_p: 0.5,
      n: 2,
      parallel_tool_calls: false,
      user: 'u-1',
    });
    expect(fake.requestsTo('/chat/completions')[0]?.body).toMatchObject({
      top_p: 0.5,
      n: 2,
      parallel_tool_calls: false,
      user: 'u-1',
    });
  });
});

describe('FakeOpenAI embeddings', () => {
  it('embeds a list of texts with the default base64 of the openai client, decoded to unit vectors', async () => {
    const r = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['the cat sat on the mat', 'the cat sat on a mat', 'quantum chromodynamics lecture'],
    });
    expect(fake.requestsTo('/embeddings')[0]?.body).toMatchObject({ encoding_format: 'base64' });
    const [a, b, c] = r.data.map((d) => d.embedding);
    expect(a).toHaveLength(1536);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 5);
    expect(cosineSimilarity(a ?? [], b ?? [])).toBeGreaterThan(0.7);
    expect(cosineSimilarity(a ?? [], c ?? [])).toBeLessThan(0.3);
    expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(r.usage).toEqual({ prompt_tokens: 6 + 6 + 3, total_tokens: 15 });
  });

  it('gives the same vectors as float and as base64, and honours dimensions', async () => {
    const asFloat = await client.embeddings.create({
      model: 'text-embedding-3-large',
      input: 'hello world',
      encoding_format: 'float',
      dimensions: 64,
    });
    const asBase64 = await client.embeddings.create({
      model: 'text-embedding-3-large',
      input: 'hello world',
      dimensions: 64,
    });
    expect(asFloat.data[0]?.embedding).toHaveLength(64);
    expect(asBase64.data[0]?.embedding).toEqual(asFloat.data[0]?.embedding);
  });

  it('refuses an empty input, dimensions on ada-002 and an unknown model as OpenAI does', async () => {
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: [''] })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    });
    await expect(
      client.embeddings.create({ model: 'text-embedding-ada-002', input: 'x', dimensions: 8 }),
    ).rejects.toMatchObject({ status: 400, param: 'dimensions' });
    await expect(client.embeddings.create({ model: 'gpt-4o-mini', input: 'x' })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
  });

  it('injects faults into embeddings: 429 with Retry-After, malformed JSON, a cut body', async () => {
    fake.enqueue(
      { fault: 'status', status: 429, retryAfter: 3 },
      { fault: 'malformed-json' },
      { fault: 'cut-after-chunks', chunks: 0 },
    );
    const limited = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.headers.get('retry-after')).toBe('3');
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toThrow();
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toThrow();
    await expect(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).resolves.toBeTruthy();
  });
});
