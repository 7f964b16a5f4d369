import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

let h: Harness;
let client: Ollama;

beforeAll(async () => {
  h = await startHarness();
  client = new Ollama({ host: h.url });
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

const ask = (content: string) => [{ role: 'user', content }];

describe('Ollama endpoints, with the official ollama client over real HTTP', () => {
  it('answers to the bare local model name (qwen2.5-coder:7b), serving it from that model', async () => {
    const raw = await fetch(`${h.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'qwen2.5-coder:7b', messages: ask('hi'), stream: false }),
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('x-unity-model')).toBe('ollama_chat/qwen2.5-coder:7b');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('streams /api/chat as NDJSON by default, ending with done and counts', async () => {
    h.cloud.enqueue({ text: 'alpha beta gamma', usage: { promptTokens: 3, completionTokens: 3 } });
    const parts: string[] = [];
    let last: { done: boolean; done_reason?: string; eval_count?: number; prompt_eval_count?: number } | undefined;
    for await (const part of await client.chat({ model: 'unity', messages: ask('go'), stream: true })) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.join('')).toBe('alpha beta gamma');
    expect(parts.length).toBeGreaterThan(2);
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: 3, prompt_eval_count: 3 });
    const raw = await fetch(`${h.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'unity', messages: ask('hi') }),
    });
    expect(raw.headers.get('content-type')).toBe('application/x-ndjson');
    expect(raw.headers.get('x-unity-provider')).toBe('openai');
    const lines = (await raw.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ done: true, model: 'unity' });
  });

  it('answers a non-streaming /api/chat', async () => {
    h.cloud.enqueue({ text: 'whole answer' });
    const r = await client.chat({ model: 'unity', messages: ask('hello'), stream: false });
    expect(r.message).toMatchObject({ role: 'assistant', content: 'whole answer' });
    expect(r.done).toBe(true);
    expect(r.model).toBe('unity');
  });

  it('answers /api/generate with the prompt and system text as one turn', async () => {
    h.cloud.enqueue({ text: 'generated' });
    const r = await client.generate({ model: 'unity', prompt: 'write', system: 'be brief', stream: false });
    expect(r.response).toBe('generated');
    const sent = h.cloud.requestsTo('/chat/completions')[0]?.body as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'write' },
    ]);
  });

  it('streams /api/generate', async () => {
    h.cloud.enqueue({ text: 'once upon a time' });
    let text = '';
    for await (const part of await client.generate({ model: 'unity', prompt: 'story', stream: true })) {
      text += part.response;
    }
    expect(text).toBe('once upon a time');
  });

  it('returns tool calls with object arguments, and sends tool results back by name', async () => {
    h.cloud.enqueue({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.txt' } }] });
    const tools = [
      {
        type: 'function',
        function: {
          name: 'read_file',
          description: 'Read a file',
          parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        },
      },
    ];
    const r = await client.chat({ model: 'unity', messages: ask('read a.txt'), tools, stream: false });
    expect(r.message.tool_calls?.[0]?.function).toMatchObject({ name: 'read_file', arguments: { path: 'a.txt' } });

    h.cloud.enqueue({ text: 'a.txt says hi' });
    const followUp = await client.chat({
      model: 'unity',
      stream: false,
      tools,
      messages: [...ask('read a.txt'), r.message, { role: 'tool', content: 'hi', tool_name: 'read_file' }],
    });
    expect(followUp.message.content).toBe('a.txt says hi');
    const sent = h.cloud.requestsTo('/chat/completions')[1]?.body as {
      messages: { role: string; tool_calls?: { id: string }[]; tool_call_id?: string }[];
    };
    const callId = sent.messages.find((m) => m.role === 'assistant')?.tool_calls?.[0]?.id;
    expect(callId).toBeTruthy();
    expect(sent.messages.find((m) => m.role === 'tool')?.tool_call_id).toBe(callId);
  });

  it('lists the served models in /api/tags and describes one in /api/show', async () => {
    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toContain('ollama_chat/qwen2.5-coder:7b');
    expect(tags.models.map((m) => m.name)).toContain('unity');
    const show = await client.show({ model: 'coding' });
    expect(show.capabilities).toContain('completion');
    expect(await client.version()).toEqual({ version: '0.12.6', unity_version: '0.1.0' });
  });

  it('streams the local model’s answer when the cloud refuses connections', async () => {
    await h.cloud.refuse();
    try {
      h.local.enqueue({ text: 'served locally' });
      let text = '';
      for await (const part of await client.chat({ model: 'unity', messages: ask('hi'), stream: true })) {
        text += part.message.content;
      }
      expect(text).toBe('served locally');
    } finally {
      await h.cloud.accept();
    }
  });

  it('ends a stream that fails after its first token with an error line the client raises', async () => {
    h.cloud.enqueue({ fault: 'stream-error', chunks: 1, message: 'model crashed' });
    let text = '';
    const error = await (async () => {
      try {
        for await (const part of await client.chat({ model: 'unity', messages: ask('one two'), stream: true })) {
          text += part.message.content;
        }
      } catch (e) {
        return e as Error;
      }
    })();
    expect(text).toBe('echo: ');
    expect(error?.message).toMatch(/model crashed/);
  });

  it('answers an unknown model with 404 in Ollama’s shape, listing the known ones', async () => {
    const error = await client.chat({ model: 'llama9', messages: ask('x'), stream: false }).catch((e) => e);
    expect(error.status_code).toBe(404);
    expect(error.error).toMatch(/model "llama9" is not served here; known models: unity, local, reasoning/);
  });
});
