import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => {
  h.cloud.reset();
  h.local.reset();
});

interface UpstreamBody {
  messages: Record<string, unknown>[];
  tools?: { function: { name: string; parameters: unknown } }[];
  response_format?: Record<string, unknown>;
  max_tokens?: number;
  temperature?: number;
  stop?: string[];
}
const upstream = (i = 0) => h.cloud.requestsTo('/chat/completions')[i]?.body as UpstreamBody;

const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'unused' };
const post = (body: Record<string, unknown>, path = '/v1/messages', base = h.url) =>
  fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
const ask = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'unity',
  max_tokens: 256,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

interface Frame {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: SSE payloads are checked field by field
  data: any;
}
/** A streamed answer's SSE frames, each checked to name its event in its `type` too. */
async function frames(response: Response): Promise<Frame[]> {
  const text = await response.text();
  return text
    .trim()
    .split('\n\n')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))?.slice(6) ?? 'null');
      expect(data.type, frame).toBe(event);
      return { event, data };
    });
}
/** The event names, with the delta type of each content_block_delta. */
const sequence = (fs: Frame[]) =>
  fs.map((f) => (f.event === 'content_block_delta' ? `${f.event}:${f.data.delta.type}` : f.event));

const readFile = {
  name: 'read_file',
  description: 'Read a file',
  input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const listFiles = { ...readFile, name: 'list_files', description: 'List files' };

describe('POST /v1/messages, over real HTTP', () => {
  it('answers with a Message in Anthropic’s shape, the system prompt and max_tokens passed on', async () => {
    h.cloud.enqueue({ text: 'hello from the cloud', usage: { promptTokens: 7, completionTokens: 4 } });
    const r = await post(ask('hi', { system: 'Be brief.', temperature: 0.5, stop_sequences: ['END'] }));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-unity-provider')).toBe('openai');
    const message = (await r.json()) as Record<string, unknown>;
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'unity',
      content: [{ type: 'text', text: 'hello from the cloud', citations: null }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 7, output_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(upstream().messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
    expect(upstream()).toMatchObject({ max_tokens: 256, temperature: 0.5, stop: ['END'] });
  });

  it('takes the system prompt as text blocks and images as base64 blocks', async () => {
    await post({
      model: 'unity',
      max_tokens: 100,
      system: [
        { type: 'text', text: 'You describe ' },
        { type: 'text', text: 'pictures.' },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'text', text: 'what is this?' },
          ],
        },
      ],
    });
    const sent = upstream().messages;
    expect(sent[0]).toEqual({ role: 'system', content: 'You describe pictures.' });
    expect(JSON.stringify(sent[1])).toContain('iVBORw0KGgo=');
    expect(JSON.stringify(sent[1])).toContain('what is this?');
  });

  it('streams the exact event sequence, with the text in text_delta events', async () => {
    h.cloud.enqueue({ text: 'one two three', usage: { promptTokens: 3, completionTokens: 3 } });
    const r = await post(ask('count', { stream: true }));
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const fs = await frames(r);
    expect(sequence(fs)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta:text_delta',
      'content_block_delta:text_delta',
      'content_block_delta:text_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(fs[0]?.data.message).toMatchObject({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'unity',
      content: [],
      stop_reason: null,
    });
    expect(fs[2]?.data).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '', citations: null },
    });
    const text = fs
      .filter((f) => f.event === 'content_block_delta')
      .map((f) => f.data.delta.text)
      .join('');
    expect(text).toBe('one two three');
    expect(fs[6]?.data).toEqual({ type: 'content_block_stop', index: 0 });
    expect(fs[7]?.data).toMatchObject({
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 3, output_tokens: 3 },
    });
  });

  it('gives the model’s reasoning as a thinking block before the text, whole and streamed', async () => {
    h.cloud.enqueue({ reasoning: 'the user greets me', text: 'hello' });
    const whole = (await (await post(ask('hi'))).json()) as { content: unknown[] };
    expect(whole.content).toEqual([
      { type: 'thinking', thinking: 'the user greets me', signature: '' },
      { type: 'text', text: 'hello', citations: null },
    ]);
    h.cloud.enqueue({ reasoning: 'the user greets me', text: 'hello' });
    const fs = await frames(await post(ask('hi', { stream: true })));
    const seq = sequence(fs);
    expect(seq.indexOf('content_block_delta:thinking_delta')).toBeLessThan(
      seq.indexOf('content_block_delta:text_delta'),
    );
    const starts = fs.filter((f) => f.event === 'content_block_start').map((f) => f.data);
    expect(starts.map((s) => [s.index, s.content_block.type])).toEqual([
      [0, 'thinking'],
      [1, 'text'],
    ]);
  });

  it('returns tool_use blocks with their input as an object and stop_reason tool_use', async () => {
    h.cloud.enqueue({ toolCalls: [{ id: 'toolu_a', name: 'read_file', arguments: { path: 'README.md' } }] });
    const r = (await (await post(ask('read the readme', { tools: [readFile] }))).json()) as Record<string, unknown>;
    expect(r.stop_reason).toBe('tool_use');
    expect(r.content).toEqual([{ type: 'tool_use', id: 'toolu_a', name: 'read_file', input: { path: 'README.md' } }]);
    const sent = upstream().tools?.[0]?.function;
    expect(sent).toMatchObject({ name: 'read_file', parameters: readFile.input_schema });
  });

  it('streams a tool use as a block start, one input_json_delta and a stop', async () => {
    h.cloud.enqueue({ toolCalls: [{ id: 'toolu_s', name: 'list_files', arguments: { path: 'src' } }] });
    const fs = await frames(await post(ask('list', { tools: [listFiles], stream: true })));
    expect(sequence(fs)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(fs[2]?.data.content_block).toEqual({ type: 'tool_use', id: 'toolu_s', name: 'list_files', input: {} });
    expect(JSON.parse(fs[3]?.data.delta.partial_json)).toEqual({ path: 'src' });
    expect(fs[5]?.data.delta.stop_reason).toBe('tool_use');
  });

  it('sends no tools upstream for tool_choice none', async () => {
    await post(ask('hi', { tools: [readFile], tool_choice: { type: 'none' } }));
    expect(upstream().tools).toBeUndefined();
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['any', { type: 'any' }],
    ['tool', { type: 'tool', name: 'list_files' }],
  ])('offers the tools and answers with the call for tool_choice %s', async (_name, choice) => {
    h.cloud.enqueue({ toolCalls: [{ id: 'toolu_c', name: 'list_files', arguments: { path: '.' } }] });
    const r = (await (await post(ask('list', { tools: [readFile, listFiles], tool_choice: choice }))).json()) as {
      content: { type: string; name: string }[];
    };
    expect(r.content[0]).toMatchObject({ type: 'tool_use', name: 'list_files' });
    expect(upstream().tools?.map((t) => t.function.name)).toEqual(['read_file', 'list_files']);
  });

  it('sends tool_choice any and a named tool upstream as required and that function', async () => {
    await post(ask('list', { tools: [readFile, listFiles], tool_choice: { type: 'any' } }));
    expect((upstream(0) as { tool_choice?: unknown }).tool_choice).toBe('required');
    await post(ask('list', { tools: [readFile, listFiles], tool_choice: { type: 'tool', name: 'read_file' } }));
    expect((upstream(1) as { tool_choice?: unknown }).tool_choice).toEqual({
      type: 'function',
      function: { name: 'read_file' },
    });
  });

  it('sends top_k and top_p upstream', async () => {
    const r = await post(ask('hi', { top_k: 40, top_p: 0.9 }));
    expect(r.status).toBe(200);
    expect(upstream()).toMatchObject({ top_k: 40, top_p: 0.9 });
  });

  it('sends a tool_result turn upstream as the assistant call and the tool answer it belongs to', async () => {
    h.cloud.enqueue({ text: 'the readme says hi' });
    const r = await post({
      model: 'unity',
      max_tokens: 100,
      tools: [readFile],
      messages: [
        { role: 'user', content: 'read it' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Reading.' },
            { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'README.md' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'hi' }] },
            { type: 'text', text: 'what does it say?' },
          ],
        },
      ],
    });
    expect(((await r.json()) as { content: { text: string }[] }).content[0]?.text).toBe('the readme says hi');
    const sent = upstream().messages;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'user']);
    const assistant = sent[1] as { content: string; tool_calls: { id: string; function: { arguments: string } }[] };
    expect(assistant.content).toBe('Reading.');
    expect(assistant.tool_calls[0]?.id).toBe('toolu_1');
    expect(JSON.parse(assistant.tool_calls[0]?.function.arguments ?? '')).toEqual({ path: 'README.md' });
    expect(sent[2]).toMatchObject({ role: 'tool', tool_call_id: 'toolu_1', content: 'hi' });
    expect(sent[3]).toMatchObject({ role: 'user', content: 'what does it say?' });
  });

  it('asks for structured output with output_config.format json_schema', async () => {
    h.cloud.enqueue({ text: '{"city":"Paris"}' });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const r = (await (
      await post(ask('capital of France', { output_config: { format: { type: 'json_schema', schema } } }))
    ).json()) as { content: { text: string }[] };
    expect(JSON.parse(r.content[0]?.text ?? '')).toEqual({ city: 'Paris' });
    expect(upstream().response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });
  });

  it('says stop_reason max_tokens when the cap cut the answer, whole and streamed', async () => {
    h.cloud.enqueue({ text: 'once upon a', finishReason: 'length' });
    expect(((await (await post(ask('story'))).json()) as { stop_reason: string }).stop_reason).toBe('max_tokens');
    h.cloud.enqueue({ text: 'once upon a', finishReason: 'length' });
    const fs = await frames(await post(ask('story', { stream: true })));
    expect(fs.find((f) => f.event === 'message_delta')?.data.delta.stop_reason).toBe('max_tokens');
  });

  it('streams the local model’s answer when the cloud fails before the first token', async () => {
    h.cloud.enqueue({ fault: 'status', status: 503 });
    h.local.enqueue({ text: 'local model to the rescue' });
    const r = await post(ask('help', { stream: true }));
    expect(r.headers.get('x-unity-attempts')).toBe('openai/MiniMax-M2 SERVER_ERROR, ollama_chat/qwen2.5-coder:7b ok');
    const fs = await frames(r);
    const text = fs
      .filter((f) => f.event === 'content_block_delta')
      .map((f) => f.data.delta.text)
      .join('');
    expect(text).toBe('local model to the rescue');
    expect(fs.at(-1)?.event).toBe('message_stop');
  });

  it('ends a stream that fails after its first token with an error event, never message_stop', async () => {
    h.cloud.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four five' } });
    const r = await post(ask('go', { stream: true }));
    expect(r.status).toBe(200);
    const fs = await frames(r);
    const seq = sequence(fs);
    expect(seq.slice(0, 4)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta:text_delta']);
    expect(seq).not.toContain('message_stop');
    expect(seq).not.toContain('message_delta');
    const last = fs.at(-1)?.data;
    expect(last).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(last.error.message).toMatch(/stream/i);
    expect(h.local.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('answers 502 in Anthropic’s error shape, naming each attempt, when nothing can serve', async () => {
    h.cloud.enqueue({ fault: 'status', status: 500 });
    h.local.enqueue({ fault: 'status', status: 500 });
    const r = await post(ask('x', { stream: true }));
    expect(r.status).toBe(502);
    const body = (await r.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('api_error');
    expect(body.error.message).toContain('MiniMax-M2');
    expect(body.error.message).toContain('qwen2.5-coder:7b');
  });
});

describe('POST /v1/messages: bad input, with 400 in Anthropic’s shape naming the field', () => {
  const errorOf = async (r: Response) => {
    const body = (await r.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    return body.error;
  };

  it('requires max_tokens, as Anthropic does', async () => {
    const r = await post({ model: 'unity', messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(400);
    const error = await errorOf(r);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain('max_tokens: required');
  });

  it('names a missing messages list and an unsupported content block', async () => {
    expect((await errorOf(await post({ model: 'unity', max_tokens: 10 }))).message).toContain('messages: required');
    const doc = await post({
      model: 'unity',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] }],
    });
    expect(doc.status).toBe(400);
    const error = await errorOf(doc);
    expect(error.message).toContain('messages.0.content.0.type');
    expect(error.message).toContain('unsupported content block');
  });

  it('refuses server tools, naming the tool', async () => {
    const r = await post(ask('x', { tools: [readFile, { type: 'web_search_20250305', name: 'web_search' }] }));
    expect(r.status).toBe(400);
    const error = await errorOf(r);
    expect(error.message).toContain('tools.1.type');
    expect(error.message).toContain('server tool "web_search_20250305" is not supported');
  });

  it('refuses a tool_choice naming a tool that is not offered', async () => {
    const r = await post(ask('x', { tools: [readFile], tool_choice: { type: 'tool', name: 'rm_rf' } }));
    expect(r.status).toBe(400);
    expect((await errorOf(r)).message).toContain('tool_choice.name');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('answers invalid JSON, an unknown model and an unknown path below /v1/messages in Anthropic’s shape', async () => {
    const json = await fetch(`${h.url}/v1/messages`, { method: 'POST', headers, body: '{"model": ' });
    expect(json.status).toBe(400);
    expect((await errorOf(json)).type).toBe('invalid_request_error');
    const model = await post(ask('x', { model: 'claude-9' }));
    expect(model.status).toBe(404);
    const modelError = await errorOf(model);
    expect(modelError.type).toBe('not_found_error');
    expect(modelError.message).toContain('known models: unity');
    const path = await post(ask('x'), '/v1/messages/batches');
    expect(path.status).toBe(404);
    expect((await errorOf(path)).type).toBe('not_found_error');
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it('estimates the input tokens, says it is an estimate, and grows with the input', async () => {
    const count = async (text: string) => {
      const r = await post(
        { model: 'unity', messages: [{ role: 'user', content: text }] },
        '/v1/messages/count_tokens',
      );
      expect(r.status).toBe(200);
      expect(r.headers.get('x-unity-token-count')).toBe('estimate');
      return ((await r.json()) as { input_tokens: number }).input_tokens;
    };
    const short = await count('hello');
    const long = await count('hello '.repeat(400));
    expect(short).toBeGreaterThan(0);
    expect(long).toBeGreaterThan(short + 400);
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });
});

describe('POST /v1/messages behind an API key', () => {
  let keyed: Harness;
  beforeAll(async () => {
    keyed = await startHarness({ host: '0.0.0.0', env: { UNITY_API_KEY: 'secret-key' } });
  });
  afterAll(() => keyed.close());

  it('accepts the key as x-api-key, as Anthropic clients send it, and refuses a wrong one in Anthropic’s shape', async () => {
    const url = `http://127.0.0.1:${new URL(keyed.url).port}`;
    const send = (key: string) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { ...headers, 'x-api-key': key },
        body: JSON.stringify(ask('hi')),
      });
    const ok = await send('secret-key');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { content: { text: string }[] }).content[0]?.text).toBe('echo: hi');
    const refused = await send('wrong-key');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});
