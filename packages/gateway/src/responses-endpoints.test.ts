import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
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

interface UpstreamBody {
  messages: Record<string, unknown>[];
  tools?: { function: { name: string } }[];
  response_format?: Record<string, unknown>;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  user?: string;
  logprobs?: boolean;
  top_logprobs?: number;
}
const upstream = (i = 0) => h.cloud.requestsTo('/chat/completions')[i]?.body as UpstreamBody;

const readFile = {
  type: 'function' as const,
  name: 'read_file',
  description: 'Read a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  strict: false,
};
const listFiles = { ...readFile, name: 'list_files', description: 'List files' };

/** Every event of a streamed Response, in order, and the error the client raised, if any. */
async function collect(stream: AsyncIterable<ResponseStreamEvent>) {
  const events: ResponseStreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

const post = (body: unknown) =>
  fetch(`${h.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /v1/responses, with the official openai client over real HTTP', () => {
  it('answers a string input with instructions as a completed Response, stateless', async () => {
    h.cloud.enqueue({ text: 'hello from the cloud', usage: { promptTokens: 7, completionTokens: 4 } });
    const { data, response } = await client.responses
      .create({ model: 'unity', instructions: 'Be brief.', input: 'hi', store: true })
      .withResponse();
    expect(data.object).toBe('response');
    expect(data.id).toMatch(/^resp_/);
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe('hello from the cloud');
    expect(data.output).toHaveLength(1);
    expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    // Not in the SDK's Response type, but on the wire, as OpenAI sends it.
    expect((data as unknown as { store: boolean }).store).toBe(false);
    expect(data.previous_response_id).toBeNull();
    expect(data.usage).toMatchObject({ input_tokens: 7, output_tokens: 4, total_tokens: 11 });
    expect(response.headers.get('x-unity-provider')).toBe('openai');
    expect(upstream().messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
  });

  it('maps a list of input items, with images and earlier assistant output, onto the conversation', async () => {
    await client.responses.create({
      model: 'unity',
      input: [
        { role: 'developer', content: 'You describe pictures.' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is this? ' },
            { type: 'input_image', detail: 'auto', image_url: 'data:image/png;base64,iVBORw0KGgo=' },
          ],
        },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'A cat.', annotations: [] }] },
        { role: 'user', content: 'and its colour?' },
      ],
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    const sent = upstream().messages;
    expect(sent.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(JSON.stringify(sent[1])).toContain('iVBORw0KGgo=');
    expect(JSON.stringify(sent[1])).toContain('what is this?');
    expect(sent[2]).toMatchObject({ role: 'assistant', content: 'A cat.' });
  });

  it('streams the typed events in order, numbered, and the client reassembles the text', async () => {
    h.cloud.enqueue({ text: 'one two three', usage: { promptTokens: 3, completionTokens: 3 } });
    const stream = client.responses.stream({ model: 'unity', input: 'count' });
    const { events, error } = await collect(stream);
    expect(error).toBeUndefined();
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('response.created');
    expect(types[1]).toBe('response.in_progress');
    expect(types.slice(2, 4)).toEqual(['response.output_item.added', 'response.content_part.added']);
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const created = events[0] as OpenAI.Responses.ResponseCreatedEvent;
    expect(created.response.status).toBe('in_progress');
    const done = events.find((e) => e.type === 'response.output_text.done') as OpenAI.Responses.ResponseTextDoneEvent;
    expect(done.text).toBe('one two three');
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('one two three');
    expect(final.id).toBe(created.response.id);
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 3, total_tokens: 6 });
  });

  it('gives the model’s reasoning as a reasoning item before the message, whole and streamed', async () => {
    h.cloud.enqueue({ reasoning: 'the user greets me', text: 'hello' });
    const r = await client.responses.create({ model: 'unity', input: 'hi' });
    expect(r.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(r.output[0]).toMatchObject({ content: [{ type: 'reasoning_text', text: 'the user greets me' }] });
    expect(r.output_text).toBe('hello');
    h.cloud.enqueue({ reasoning: 'the user greets me', text: 'hello' });
    const stream = client.responses.stream({ model: 'unity', input: 'hi' });
    const { events } = await collect(stream);
    const types = events.map((e) => e.type);
    expect(types.indexOf('response.reasoning_text.delta')).toBeLessThan(types.indexOf('response.output_text.delta'));
    expect(types).toContain('response.reasoning_text.done');
    const final = await stream.finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(final.output[0]).toMatchObject({ content: [{ type: 'reasoning_text', text: 'the user greets me' }] });
    expect(final.output_text).toBe('hello');
  });

  it('returns the log probabilities of the output text when include asks for them, whole and streamed', async () => {
    const r = await client.responses.create({
      model: 'unity',
      input: 'say something',
      include: ['message.output_text.logprobs'],
      top_logprobs: 2,
    });
    const part = (r.output[0] as OpenAI.Responses.ResponseOutputMessage)
      .content[0] as OpenAI.Responses.ResponseOutputText;
    expect(part.logprobs?.length).toBeGreaterThan(0);
    expect(part.logprobs?.[0]?.top_logprobs).toHaveLength(2);
    expect(upstream()).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const { events } = await collect(
      client.responses.stream({
        model: 'unity',
        input: 'say',
        include: ['message.output_text.logprobs'],
        top_logprobs: 1,
      }),
    );
    const deltas = events.filter(
      (e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === 'response.output_text.delta',
    );
    expect(deltas.flatMap((d) => d.logprobs).length).toBeGreaterThan(0);
  });

  it('returns the function calls the model makes as function_call items', async () => {
    h.cloud.enqueue({ toolCalls: [{ id: 'call_a', name: 'read_file', arguments: { path: 'README.md' } }] });
    const r = await client.responses.create({ model: 'unity', input: 'read the readme', tools: [readFile] });
    expect(r.output).toHaveLength(1);
    const call = r.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', call_id: 'call_a', name: 'read_file', status: 'completed' });
    expect(JSON.parse(call.arguments)).toEqual({ path: 'README.md' });
    expect(upstream().tools?.map((t) => t.function.name)).toEqual(['read_file']);
  });

  it('streams a function call as added, arguments delta and done, then the item done', async () => {
    h.cloud.enqueue({ toolCalls: [{ id: 'call_s', name: 'list_files', arguments: { path: 'src' } }] });
    const stream = client.responses.stream({ model: 'unity', input: 'list', tools: [listFiles] });
    const { events } = await collect(stream);
    const types = events.map((e) => e.type);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const argsDone = events[4] as OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent;
    expect(argsDone.name).toBe('list_files');
    expect(JSON.parse(argsDone.arguments)).toEqual({ path: 'src' });
    const final = await stream.finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'function_call', call_id: 'call_s', name: 'list_files' });
  });

  it('sends no tools upstream for tool_choice "none"', async () => {
    await client.responses.create({ model: 'unity', input: 'hi', tools: [readFile], tool_choice: 'none' });
    expect(upstream().tools).toBeUndefined();
  });

  it.each([
    ['auto', 'auto', undefined],
    ['required', 'required', 'required'],
    [
      'a named function',
      { type: 'function', name: 'list_files' },
      { type: 'function', function: { name: 'list_files' } },
    ],
  ] as const)('offers the tools and answers with the call for tool_choice %s', async (_name, toolChoice, sent) => {
    h.cloud.enqueue({ toolCalls: [{ id: 'call_c', name: 'list_files', arguments: { path: '.' } }] });
    const r = await client.responses.create({
      model: 'unity',
      input: 'list',
      tools: [readFile, listFiles],
      tool_choice: toolChoice,
    });
    expect(r.tool_choice).toEqual(toolChoice);
    expect(r.output[0]).toMatchObject({ type: 'function_call', name: 'list_files' });
    expect(upstream().tools?.map((t) => t.function.name)).toEqual(['read_file', 'list_files']);
    expect(upstream().tool_choice).toEqual(sent);
  });

  it('answers a tool_choice naming a function that is not offered with 400 naming tool_choice', async () => {
    const error = await client.responses
      .create({ model: 'unity', input: 'x', tools: [readFile], tool_choice: { type: 'function', name: 'rm_rf' } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('tool_choice');
    expect(error.message).toContain('"rm_rf"');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('sends a tool-result turn upstream as the assistant call and the tool answer it belongs to', async () => {
    h.cloud.enqueue({ text: 'the readme says hi' });
    const r = await client.responses.create({
      model: 'unity',
      tools: [readFile],
      input: [
        { role: 'user', content: 'read it' },
        { type: 'function_call', call_id: 'call_1', name: 'read_file', arguments: '{"path":"README.md"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'hi' },
      ],
    });
    expect(r.output_text).toBe('the readme says hi');
    const sent = upstream().messages;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    const assistant = sent[1] as { tool_calls: { id: string; function: { name: string; arguments: string } }[] };
    expect(assistant.tool_calls[0]).toMatchObject({ id: 'call_1', function: { name: 'read_file' } });
    expect(JSON.parse(assistant.tool_calls[0]?.function.arguments ?? '')).toEqual({ path: 'README.md' });
    expect(sent[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'hi' });
  });

  it('asks for structured output with text.format json_schema and echoes the format', async () => {
    h.cloud.enqueue({ text: '{"city":"Paris","population":2100000}' });
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, population: { type: 'number' } },
      required: ['city', 'population'],
      additionalProperties: false,
    };
    const r = await client.responses.create({
      model: 'unity',
      input: 'capital of France',
      text: { format: { type: 'json_schema', name: 'city', schema, strict: true } },
    });
    expect(JSON.parse(r.output_text)).toEqual({ city: 'Paris', population: 2100000 });
    expect(r.text?.format).toMatchObject({ type: 'json_schema', name: 'city' });
    expect(upstream().response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'response', schema },
    });
  });

  it('asks for JSON with text.format json_object', async () => {
    h.cloud.enqueue({ text: '{"ok":true}' });
    await client.responses.create({ model: 'unity', input: 'json please', text: { format: { type: 'json_object' } } });
    expect(upstream().response_format).toEqual({ type: 'json_object' });
  });

  it('passes max_output_tokens, sampling and the user, and says incomplete when the cap cut the answer', async () => {
    h.cloud.enqueue({ text: 'once upon a', finishReason: 'length' });
    const r = await client.responses.create({
      model: 'unity',
      input: 'a story',
      max_output_tokens: 3,
      temperature: 0.2,
      top_p: 0.9,
      user: 'u-7',
    });
    expect(r.status).toBe('incomplete');
    expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(r.max_output_tokens).toBe(3);
    expect(r.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
    expect(upstream()).toMatchObject({ max_tokens: 3, temperature: 0.2, top_p: 0.9, user: 'u-7' });
  });

  it('ends a stream cut by the output cap with response.incomplete', async () => {
    h.cloud.enqueue({ text: 'once upon a', finishReason: 'length' });
    const { events } = await collect(client.responses.stream({ model: 'unity', input: 'story', max_output_tokens: 3 }));
    const last = events.at(-1) as OpenAI.Responses.ResponseIncompleteEvent;
    expect(last.type).toBe('response.incomplete');
    expect(last.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(events.map((e) => e.type)).not.toContain('response.completed');
  });

  it('streams the local model’s answer when the cloud fails before the first token', async () => {
    h.cloud.enqueue({ fault: 'status', status: 503 });
    h.local.enqueue({ text: 'local model to the rescue' });
    const { data: stream, response } = await client.responses
      .create({ model: 'unity', input: 'help', stream: true })
      .withResponse();
    const { events, error } = await collect(stream);
    expect(error).toBeUndefined();
    const text = events
      .filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    expect(text).toBe('local model to the rescue');
    expect(response.headers.get('x-unity-attempts')).toBe(
      'openai/MiniMax-M2 SERVER_ERROR, ollama_chat/qwen2.5-coder:7b ok',
    );
  });

  it('ends a stream that fails after its first token with response.failed and an error the client raises', async () => {
    h.cloud.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four five' } });
    const { events, error } = await collect(client.responses.stream({ model: 'unity', input: 'go' }));
    const types = events.map((e) => e.type);
    expect(types).toContain('response.output_text.delta');
    expect(types.at(-1)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
    const failed = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error?.code).toBe('server_error');
    expect(failed.response.error?.message).toMatch(/stream/i);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toMatch(/stream/i);
    expect(h.local.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('sends the documented error event after response.failed, numbered in sequence', async () => {
    h.cloud.enqueue({ fault: 'cut-after-chunks', chunks: 1, reply: { text: 'one two three' } });
    const text = await (await post({ model: 'unity', input: 'go', stream: true })).text();
    const frames = text
      .trim()
      .split('\n\n')
      .map((frame) => {
        const [eventLine, dataLine] = frame.split('\n');
        return { event: eventLine?.slice('event: '.length), data: JSON.parse(dataLine?.slice('data: '.length) ?? '') };
      });
    expect(frames.every((f) => f.event === f.data.type)).toBe(true);
    expect(frames.map((f) => f.data.sequence_number)).toEqual(frames.map((_, i) => i));
    const last = frames.at(-1)?.data;
    expect(last).toMatchObject({ type: 'error', code: 'upstream_failed', param: null });
    expect(last.message).toMatch(/stream/i);
    expect(frames.at(-2)?.event).toBe('response.failed');
  });

  it('answers 502 in OpenAI’s error shape, naming each attempt, when nothing can serve', async () => {
    h.cloud.enqueue({ fault: 'status', status: 500 });
    h.local.enqueue({ fault: 'status', status: 500 });
    const error = await client.responses.create({ model: 'unity', input: 'x', stream: true }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(502);
    expect(error.message).toContain('MiniMax-M2');
    expect(error.message).toContain('qwen2.5-coder:7b');
  });
});

describe('POST /v1/responses: what it refuses, with 400 naming the field', () => {
  it('refuses built-in tools, naming the tool', async () => {
    const error = await client.responses
      .create({ model: 'unity', input: 'x', tools: [readFile, { type: 'web_search' }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('tools.1.type');
    expect(error.message).toContain('built-in tool "web_search" is not supported');
    const fileSearch = await post({
      model: 'unity',
      input: 'x',
      tools: [{ type: 'file_search', vector_store_ids: [] }],
    });
    expect(fileSearch.status).toBe(400);
    expect(((await fileSearch.json()) as { error: { message: string } }).error.message).toContain('"file_search"');
  });

  it('refuses previous_response_id: it keeps no state, and says to send the whole conversation', async () => {
    const error = await client.responses
      .create({ model: 'unity', input: 'and then?', previous_response_id: 'resp_123' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('previous_response_id');
    expect(error.message).toContain('stateless');
    expect(error.message).toContain('send the whole conversation in `input`');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('names a missing input, an unknown item type and a bad temperature', async () => {
    const missing = await post({ model: 'unity' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { param: 'input', type: 'invalid_request_error' } });
    const badItem = await post({ model: 'unity', input: [{ type: 'item_reference', id: 'msg_1' }] });
    const badItemError = ((await badItem.json()) as { error: { param: string; message: string } }).error;
    expect(badItemError.param).toBe('input.0.type');
    expect(badItemError.message).toContain('item_reference needs stored responses');
    const hot = await post({ model: 'unity', input: 'x', temperature: 5 });
    expect(((await hot.json()) as { error: { param: string } }).error.param).toBe('temperature');
  });

  it('answers an unknown model with 404 listing the known ones', async () => {
    const error = await client.responses.create({ model: 'gpt-9', input: 'x' }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.message).toContain('known models: unity');
  });
});
