import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

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

describe('OpenAI endpoints, with the official openai client over real HTTP', () => {
  it('answers a chat through the cloud model and says who served in headers', async () => {
    h.cloud.enqueue({ text: 'hello from the cloud', usage: { promptTokens: 7, completionTokens: 4 } });
    const { data, response } = await client.chat.completions
      .create({ model: 'unity', messages: ask('hi') })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('hello from the cloud');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toEqual({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
    expect(response.headers.get('x-unity-provider')).toBe('openai');
    expect(response.headers.get('x-unity-model')).toBe('openai/MiniMax-M2');
    expect(response.headers.get('x-unity-attempts')).toBe('openai/MiniMax-M2 ok');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('streams the answer as SSE chunks the client reassembles, with usage when asked', async () => {
    h.cloud.enqueue({ text: 'one two three four' });
    const stream = await client.chat.completions.create({
      model: 'unity',
      messages: ask('count'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(pieces.join('')).toBe('one two three four');
    expect(pieces.length).toBeGreaterThan(1);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(4);
  });

  it('passes tools to the model and returns its tool calls with string arguments', async () => {
    h.cloud.enqueue({ toolCalls: [{ id: 'call_a', name: 'read_file', arguments: { path: 'README.md' } }] });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('read the readme'),
      tools: [
        {
          type: 'function',
          function: {
            name: 'read_file',
            description: 'Read a file',
            parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
          },
        },
      ],
    });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function.name).toBe('read_file');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ path: 'README.md' });
    const sent = h.cloud.requestsTo('/chat/completions')[0]?.body as { tools: { function: { name: string } }[] };
    expect(sent.tools.map((t) => t.function.name)).toEqual(['read_file']);
  });

  it('streams tool calls that the client reassembles', async () => {
    h.cloud.enqueue({ toolCalls: [{ name: 'list_files', arguments: { path: 'src' } }] });
    const final = await client.chat.completions
      .stream({
        model: 'unity',
        messages: ask('list'),
        tools: [{ type: 'function', function: { name: 'list_files', parameters: { type: 'object' } } }],
      })
      .finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && [call.function.name, JSON.parse(call.function.arguments)]).toEqual([
      'list_files',
      { path: 'src' },
    ]);
  });

  it('sends a tool result back to the model with the call it answers', async () => {
    h.cloud.enqueue({ text: 'the readme says hi' });
    await client.chat.completions.create({
      model: 'unity',
      messages: [
        { role: 'user', content: 'read it' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"README.md"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'hi' },
      ],
    });
    const sent = h.cloud.requestsTo('/chat/completions')[0]?.body as { messages: Record<string, unknown>[] };
    const assistant = sent.messages.find((m) => m.role === 'assistant') as {
      tool_calls: { id: string; function: { name: string; arguments: string } }[];
    };
    expect(assistant.tool_calls[0]).toMatchObject({ id: 'call_1', function: { name: 'read_file' } });
    expect(JSON.parse(assistant.tool_calls[0]?.function.arguments ?? '')).toEqual({ path: 'README.md' });
    expect(sent.messages.find((m) => m.role === 'tool')).toMatchObject({ tool_call_id: 'call_1', content: 'hi' });
  });

  it('answers to the bare model name an app sent before, routing it to that configured model', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'MiniMax-M2', messages: ask('hi') })
      .withResponse();
    expect(response.headers.get('x-unity-model')).toBe('openai/MiniMax-M2');
  });

  it('lists the configured models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([
      'unity',
      'local',
      'reasoning',
      'coding',
      'fallback',
      'openai/MiniMax-M2',
      'ollama_chat/qwen2.5-coder:7b',
    ]);
  });

  it('streams the local model’s answer when the cloud fails before the first token', async () => {
    h.cloud.enqueue({ fault: 'status', status: 503 });
    h.local.enqueue({ text: 'local model to the rescue' });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'unity', messages: ask('help'), stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('local model to the rescue');
    expect(response.headers.get('x-unity-provider')).toBe('ollama');
    expect(response.headers.get('x-unity-attempts')).toBe(
      'openai/MiniMax-M2 SERVER_ERROR, ollama_chat/qwen2.5-coder:7b ok',
    );
    expect(h.local.requestsTo('/api/chat')).toHaveLength(1);
  });

  it('ends a stream that fails after its first token with an error the client raises, not a clean end', async () => {
    h.cloud.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four five' } });
    const stream = await client.chat.completions.create({ model: 'unity', messages: ask('go'), stream: true });
    let text = '';
    const error = await (async () => {
      try {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      } catch (e) {
        return e;
      }
    })();
    expect(text).toBe('one two ');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toMatch(/stream/i);
    expect(h.local.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('answers 502 in OpenAI’s error shape, naming each attempt, when nothing can serve', async () => {
    h.cloud.enqueue({ fault: 'status', status: 500 });
    h.local.enqueue({ fault: 'status', status: 500 });
    const error = await client.chat.completions.create({ model: 'unity', messages: ask('x') }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(502);
    expect(error.message).toContain('MiniMax-M2');
    expect(error.message).toContain('qwen2.5-coder:7b');
    expect(error.headers.get('x-unity-attempts')).toContain('SERVER_ERROR');
  });
});
