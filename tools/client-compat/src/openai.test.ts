import OpenAI from 'openai';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { z } from 'zod';
import { cloudChatBodies, type Gateway, localBodies, startGateway } from './__tests__/gateway';
import { refused, works } from './matrix/cells';

let g: Gateway;
let client: OpenAI;

beforeAll(async () => {
  g = await startGateway();
  client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 10_000 });
});
afterAll(() => g.close());
beforeEach(() => g.reset());

const ask = (content: string) => [{ role: 'user' as const, content }];
const weather: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const time: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'The time in a zone',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};
const weatherSchema = z.object({ city: z.string(), celsius: z.number() });

describe('the official openai client against the gateway', () => {
  works('openai', 'chat', 'answers with the model text', async () => {
    g.cloud.enqueue({ text: 'hello from the cloud' });
    const r = await client.chat.completions.create({ model: 'unity', messages: ask('hi') });
    expect(r.choices[0]?.message.content).toBe('hello from the cloud');
    expect(r.choices[0]?.finish_reason).toBe('stop');
  });

  works('openai', 'chat', 'answers from the local tier through the model name `local`', async () => {
    g.local.enqueue({ text: 'hello from ollama' });
    const r = await client.chat.completions.create({ model: 'local', messages: ask('hi') });
    expect(r.choices[0]?.message.content).toBe('hello from ollama');
    expect(g.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  works('openai', 'stream', 'streams chunks that reassemble into the answer, with usage when asked', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const stream = await client.chat.completions.create({
      model: 'unity',
      messages: ask('count'),
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage ??= chunk.usage ?? undefined;
    }
    expect(text).toBe('one two three');
    expect(usage?.completion_tokens).toBe(3);
  });

  works('openai', 'tools (auto)', 'returns the tool call with its name and JSON arguments', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('weather in Paris?'),
      tools: [weather],
      tool_choice: 'auto',
    });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tools: [{ function: { name: 'get_weather' } }] });
  });

  works('openai', 'tools, streamed', 'streams the tool call as deltas the client reassembles', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const stream = client.chat.completions.stream({ model: 'unity', messages: ask('weather?'), tools: [weather] });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Oslo' });
  });

  works('openai', 'tool results (second turn)', 'sends the tool result back and gets the final answer', async () => {
    g.cloud.enqueue({ text: 'It is sunny in Paris.' });
    const r = await client.chat.completions.create({
      model: 'unity',
      tools: [weather],
      messages: [
        ...ask('weather in Paris?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21°C' },
      ],
    });
    expect(r.choices[0]?.message.content).toBe('It is sunny in Paris.');
    const sent = cloudChatBodies(g)[0]?.messages as { role: string; tool_call_id?: string; content?: string }[];
    expect(sent.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21°C' });
  });

  works('openai', 'structured output', 'chat.completions.parse returns the object the zod schema parses', async () => {
    g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
    const r = await client.chat.completions.parse({
      model: 'unity',
      messages: ask('weather in Paris as JSON'),
      response_format: zodResponseFormat(weatherSchema, 'weather'),
    });
    expect(r.choices[0]?.message.parsed).toEqual({ city: 'Paris', celsius: 21 });
    const format = cloudChatBodies(g)[0]?.response_format as { type: string; json_schema: { schema: unknown } };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.schema).toMatchObject({ properties: { city: { type: 'string' } } });
  });

  works('openai', 'list models', 'models.list lists the served model names', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['unity', 'local', 'ollama_chat/qwen2.5-coder:7b']));
  });

  works('openai', 'tool_choice none', 'the cloud receives tool_choice none and answers in text', async () => {
    g.cloud.enqueue({ text: 'no tools needed' });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('hi'),
      tools: [weather],
      tool_choice: 'none',
    });
    expect(r.choices[0]?.message.content).toBe('no tools needed');
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'none' });
  });

  works('openai', 'tool_choice none', 'a local model is offered no tools under tool_choice none', async () => {
    g.local.enqueue({ text: 'plain' });
    const r = await client.chat.completions.create({
      model: 'local',
      messages: ask('hi'),
      tools: [weather],
      tool_choice: 'none',
    });
    expect(r.choices[0]?.message.content).toBe('plain');
    expect(localBodies(g, 'chat')[0]?.tools ?? []).toEqual([]);
  });

  works('openai', 'tool_choice required', 'the cloud receives tool_choice required; the call comes back', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('hi'),
      tools: [weather, time],
      tool_choice: 'required',
    });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'required' });
  });

  works('openai', 'tool_choice named', 'the cloud receives the named function; its call comes back', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'UTC' } }] });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('hi'),
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_time');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ zone: 'UTC' });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: { type: 'function', function: { name: 'get_time' } } });
  });

  refused('openai', 'tool_choice named', 'naming a function that is not offered is a 400 naming it', /"get_date"/, () =>
    client.chat.completions.create({
      model: 'unity',
      messages: ask('hi'),
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_date' } },
    }),
  );

  works('openai', 'n', 'n: 2 gives two choices, each a real answer', async () => {
    g.cloud.enqueue({ text: 'first', choiceTexts: ['second'] }, { text: 'second' });
    const r = await client.chat.completions.create({ model: 'unity', messages: ask('hi'), n: 2 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(r.choices.map((c) => c.message.content).sort()).toEqual(['first', 'second']);
  });

  works('openai', 'n', 'n: 2 on a local model gives two choices (two calls to Ollama)', async () => {
    g.local.enqueue({ text: 'first' }, { text: 'second' });
    const r = await client.chat.completions.create({ model: 'local', messages: ask('hi'), n: 2 });
    expect(r.choices.map((c) => c.message.content).sort()).toEqual(['first', 'second']);
    expect(localBodies(g, 'chat')).toHaveLength(2);
  });

  refused('openai', 'n', 'n: 2 with stream: true is a 400 naming n', /\bn\b/, () =>
    client.chat.completions.create({ model: 'unity', messages: ask('hi'), n: 2, stream: true }),
  );

  works('openai', 'logprobs', 'logprobs with top_logprobs come back per token from the cloud', async () => {
    g.cloud.enqueue({ text: 'hello world' });
    const r = await client.chat.completions.create({
      model: 'unity',
      messages: ask('hi'),
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0]?.logprobs?.content ?? [];
    expect(content.map((t) => t.token).join('')).toBe('hello world');
    expect(content[0]?.top_logprobs).toHaveLength(2);
    expect(cloudChatBodies(g)[0]).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });

  works('openai', 'sampling parameters', 'top_p, penalties, seed, stop and user reach the cloud', async () => {
    g.cloud.enqueue({ text: 'ok' });
    await client.chat.completions.create({
      model: 'unity',
      messages: ask('hi'),
      top_p: 0.5,
      frequency_penalty: 0.25,
      presence_penalty: 0.5,
      seed: 7,
      stop: ['END'],
      user: 'user-1',
      max_tokens: 20,
    });
    expect(cloudChatBodies(g)[0]).toMatchObject({
      top_p: 0.5,
      frequency_penalty: 0.25,
      presence_penalty: 0.5,
      seed: 7,
      stop: ['END'],
      user: 'user-1',
    });
  });

  works('openai', 'sampling parameters', 'top_p, seed, stop and max_tokens reach Ollama as options', async () => {
    g.local.enqueue({ text: 'ok' });
    await client.chat.completions.create({
      model: 'local',
      messages: ask('hi'),
      top_p: 0.5,
      seed: 7,
      stop: ['END'],
      max_tokens: 20,
    });
    expect(localBodies(g, 'chat')[0]).toMatchObject({
      options: { top_p: 0.5, seed: 7, stop: ['END'], num_predict: 20 },
    });
  });

  refused(
    'openai',
    'sampling parameters',
    'logit_bias, which nothing here honours, is a 400 naming it',
    /logit_bias/,
    () => client.chat.completions.create({ model: 'unity', messages: ask('hi'), logit_bias: { '50256': -100 } }),
  );

  works(
    'openai',
    'Responses API: text',
    'responses.create answers; instructions and input reach the model',
    async () => {
      g.cloud.enqueue({ text: 'hello from responses' });
      const r = await client.responses.create({ model: 'unity', input: 'hi', instructions: 'be brief', store: false });
      expect(r.output_text).toBe('hello from responses');
      expect(r.status).toBe('completed');
      expect(cloudChatBodies(g)[0]?.messages).toEqual([
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ]);
    },
  );

  refused(
    'openai',
    'Responses API: text',
    'previous_response_id is a 400: this stateless gateway stores nothing',
    /previous_response_id/,
    () => client.responses.create({ model: 'unity', input: 'again', previous_response_id: 'resp_123' }),
  );

  works(
    'openai',
    'Responses API: stream',
    'responses.stream yields text deltas and the completed response',
    async () => {
      g.cloud.enqueue({ text: 'one two three' });
      const stream = client.responses.stream({ model: 'unity', input: 'count' });
      const deltas: string[] = [];
      stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      expect(deltas.join('')).toBe('one two three');
      expect(deltas.length).toBeGreaterThan(1);
      expect(final.output_text).toBe('one two three');
    },
  );

  works(
    'openai',
    'Responses API: tools',
    'responses.create returns a function_call item; tool_choice reaches the model',
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
      const r = await client.responses.create({
        model: 'unity',
        input: 'weather in Paris?',
        tools: [
          {
            type: 'function',
            name: 'get_weather',
            strict: true,
            parameters: {
              type: 'object',
              properties: { city: { type: 'string' } },
              required: ['city'],
              additionalProperties: false,
            },
          },
        ],
        tool_choice: 'required',
      });
      const call = r.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({ name: 'get_weather' });
      expect(call?.type === 'function_call' && JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
      expect(cloudChatBodies(g)[0]).toMatchObject({
        tool_choice: 'required',
        tools: [{ function: { name: 'get_weather' } }],
      });
    },
  );

  works('openai', 'Responses API: structured output', 'responses.parse returns the zod-parsed object', async () => {
    g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
    const r = await client.responses.parse({
      model: 'unity',
      input: 'weather in Paris as JSON',
      text: { format: zodTextFormat(weatherSchema, 'weather') },
    });
    expect(r.output_parsed).toEqual({ city: 'Paris', celsius: 21 });
    expect(cloudChatBodies(g)[0]).toMatchObject({ response_format: { type: 'json_schema' } });
  });

  works('openai', 'embeddings', 'embeddings.create gives one vector per input from the embedding chain', async () => {
    const { data: r, response } = await client.embeddings
      .create({ model: 'embedding', input: ['hello world', 'good night'] })
      .withResponse();
    expect(r.data.map((d) => d.embedding.length)).toEqual([1536, 1536]);
    expect(response.headers.get('x-unity-model')).toBe('openai/text-embedding-3-small');
    expect(g.cloud.requestsTo('/embeddings')[0]?.body).toMatchObject({ input: ['hello world', 'good night'] });
  });

  works('openai', 'embeddings', 'embeddings.create falls back to Ollama when the cloud embedder fails', async () => {
    g.cloud.enqueue({ fault: 'status', status: 503 });
    const { data: r, response } = await client.embeddings.create({ model: 'embedding', input: 'hello' }).withResponse();
    expect(r.data[0]?.embedding).toHaveLength(768);
    expect(response.headers.get('x-unity-model')).toBe('ollama/nomic-embed-text');
  });

  works('openai', 'embeddings', 'embeddings.create with dimensions shortens the vector', async () => {
    const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', dimensions: 256 });
    expect(r.data[0]?.embedding).toHaveLength(256);
    expect(g.cloud.requestsTo('/embeddings')[0]?.body).toMatchObject({ dimensions: 256 });
  });

  works('openai', 'embeddings', 'embeddings.create with nomic-embed-text is served by Ollama', async () => {
    const r = await client.embeddings.create({ model: 'nomic-embed-text', input: 'hello' });
    expect(r.data[0]?.embedding).toHaveLength(768);
    expect(localBodies(g, 'embed')).toHaveLength(1);
  });

  refused(
    'openai',
    'embeddings',
    'an unknown embedding model is a 404 listing the served ones',
    /not served here/,
    () => client.embeddings.create({ model: 'no-such-embedder', input: 'hello' }),
  );

  works('openai', 'legacy completions', 'completions.create answers the prompt as a text_completion', async () => {
    g.cloud.enqueue({ text: 'once upon a time' });
    const r = await client.completions.create({ model: 'unity', prompt: 'Tell a story', max_tokens: 20 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]?.text).toBe('once upon a time');
    expect(cloudChatBodies(g)[0]).toMatchObject({ messages: [{ role: 'user', content: 'Tell a story' }] });
  });

  works('openai', 'legacy completions', 'completions.create with stream: true streams the text', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const stream = await client.completions.create({ model: 'unity', prompt: 'count', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('one two three');
  });

  works('openai', 'one model', 'models.retrieve describes a served model', async () => {
    const m = await client.models.retrieve('unity');
    expect(m).toMatchObject({ id: 'unity', object: 'model' });
  });

  works('openai', 'one model', 'models.retrieve finds an alias an app hard-codes (gpt-4o-mini)', async () => {
    const m = await client.models.retrieve('gpt-4o-mini');
    expect(m).toMatchObject({ id: 'gpt-4o-mini', object: 'model' });
  });

  refused(
    'openai',
    'one model',
    'models.retrieve of an unknown model is a 404 listing the served names',
    /not served here/,
    () => client.models.retrieve('no-such-model'),
  );

  works('openai', 'chat', 'a hard-coded model name (gpt-4o-mini) is served through its alias', async () => {
    g.cloud.enqueue({ text: 'aliased' });
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: ask('hi') });
    expect(r.choices[0]?.message.content).toBe('aliased');
  });

  refused('openai', 'chat', 'an unknown model is a 404 listing the served names', /not served here/, () =>
    client.chat.completions.create({ model: 'no-such-model', messages: ask('hi') }),
  );

  works(
    'openai',
    'Responses API: tools',
    'a function_call_output item reaches the model as the tool result',
    async () => {
      g.cloud.enqueue({ text: 'Sunny in Paris.' });
      const r = await client.responses.create({
        model: 'unity',
        input: [
          { role: 'user', content: 'weather in Paris?' },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'sunny, 21°C' },
        ],
      });
      expect(r.output_text).toBe('Sunny in Paris.');
      expect(cloudChatBodies(g)[0]?.messages).toEqual([
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21°C' },
      ]);
    },
  );

  works('openai', 'Responses API: tools', 'responses.stream streams the function call arguments', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const stream = client.responses.stream({
      model: 'unity',
      input: 'weather?',
      tools: [{ type: 'function', name: 'get_weather', strict: false, parameters: weather.function.parameters ?? {} }],
    });
    let args = '';
    stream.on('response.function_call_arguments.delta', (e) => {
      args += e.delta;
    });
    const final = await stream.finalResponse();
    expect(JSON.parse(args)).toEqual({ city: 'Oslo' });
    expect(final.output).toEqual([expect.objectContaining({ type: 'function_call', name: 'get_weather' })]);
  });

  refused(
    'openai',
    'embeddings',
    'token-id input is a 400 saying it is not supported',
    /token-id input is not supported/,
    () => client.embeddings.create({ model: 'embedding', input: [1, 2, 3] }),
  );
});
