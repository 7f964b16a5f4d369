import Anthropic from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { z } from 'zod';
import { cloudChatBodies, type Gateway, localBodies, startGateway } from './__tests__/gateway';
import { refused, works } from './matrix/cells';

let g: Gateway;
let client: Anthropic;

beforeAll(async () => {
  g = await startGateway();
  client = new Anthropic({ baseURL: g.url, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 10_000 });
});
afterAll(() => g.close());
beforeEach(() => g.reset());

const ask = (content: string) => [{ role: 'user' as const, content }];
const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const time: Anthropic.Tool = {
  name: 'get_time',
  description: 'The time in a zone',
  input_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
};

describe('the official @anthropic-ai/sdk client against the gateway', () => {
  works(
    'anthropic',
    'chat',
    'messages.create answers with a text block; system and max_tokens reach the model',
    async () => {
      g.cloud.enqueue({ text: 'hello from the cloud' });
      const r = await client.messages.create({
        model: 'unity',
        max_tokens: 64,
        system: 'Be brief.',
        messages: ask('hi'),
      });
      expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: 'hello from the cloud' })]);
      expect(r.stop_reason).toBe('end_turn');
      expect(cloudChatBodies(g)[0]).toMatchObject({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
        ],
      });
    },
  );

  works('anthropic', 'chat', 'messages.create with a Claude model name is served by an alias', async () => {
    g.cloud.enqueue({ text: 'aliased' });
    const r = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: ask('hi') });
    expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: 'aliased' })]);
  });

  works('anthropic', 'chat', 'messages.create answers from the local tier through the model name `local`', async () => {
    g.local.enqueue({ text: 'hello from ollama' });
    const r = await client.messages.create({ model: 'local', max_tokens: 64, messages: ask('hi') });
    expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: 'hello from ollama' })]);
    expect(localBodies(g, 'chat')).toHaveLength(1);
  });

  works('anthropic', 'stream', 'messages.stream yields text deltas and the final message', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const stream = client.messages.stream({ model: 'unity', max_tokens: 64, messages: ask('count') });
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    expect(deltas.join('')).toBe('one two three');
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.stop_reason).toBe('end_turn');
  });

  works('anthropic', 'tools (auto)', 'messages.create returns a tool_use block with its input', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await client.messages.create({
      model: 'unity',
      max_tokens: 64,
      messages: ask('weather?'),
      tools: [weather],
    });
    expect(r.stop_reason).toBe('tool_use');
    expect(r.content).toEqual([
      expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } }),
    ]);
    expect(cloudChatBodies(g)[0]).toMatchObject({ tools: [{ function: { name: 'get_weather' } }] });
  });

  works('anthropic', 'tools, streamed', 'messages.stream reassembles the streamed tool_use input', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const stream = client.messages.stream({
      model: 'unity',
      max_tokens: 64,
      messages: ask('weather?'),
      tools: [weather],
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } }),
    ]);
  });

  works(
    'anthropic',
    'tool results (second turn)',
    'a tool_result block reaches the model as a tool message',
    async () => {
      g.cloud.enqueue({ text: 'Sunny in Paris.' });
      const r = await client.messages.create({
        model: 'unity',
        max_tokens: 64,
        tools: [weather],
        messages: [
          ...ask('weather in Paris?'),
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny, 21°C' }] },
        ],
      });
      expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: 'Sunny in Paris.' })]);
      const sent = cloudChatBodies(g)[0]?.messages as { role: string; tool_call_id?: string; content?: string }[];
      expect(sent.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'toolu_1', content: 'sunny, 21°C' });
    },
  );

  works('anthropic', 'tool_choice none', "tool_choice {type: 'none'}: the model is offered no tools", async () => {
    g.cloud.enqueue({ text: 'no tools' });
    const r = await client.messages.create({
      model: 'unity',
      max_tokens: 64,
      messages: ask('hi'),
      tools: [weather],
      tool_choice: { type: 'none' },
    });
    expect(r.content).toEqual([expect.objectContaining({ type: 'text', text: 'no tools' })]);
    expect(cloudChatBodies(g)[0]?.tools).toBeUndefined();
  });

  works('anthropic', 'tool_choice required', "tool_choice {type: 'any'} reaches the model as required", async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'UTC' } }] });
    const r = await client.messages.create({
      model: 'unity',
      max_tokens: 64,
      messages: ask('hi'),
      tools: [weather, time],
      tool_choice: { type: 'any' },
    });
    expect(r.content).toEqual([expect.objectContaining({ type: 'tool_use', name: 'get_time' })]);
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'required' });
  });

  works(
    'anthropic',
    'tool_choice named',
    "tool_choice {type: 'tool', name} reaches the model as that function",
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'UTC' } }] });
      const r = await client.messages.create({
        model: 'unity',
        max_tokens: 64,
        messages: ask('hi'),
        tools: [weather, time],
        tool_choice: { type: 'tool', name: 'get_time' },
      });
      expect(r.content).toEqual([
        expect.objectContaining({ type: 'tool_use', name: 'get_time', input: { zone: 'UTC' } }),
      ]);
      expect(cloudChatBodies(g)[0]).toMatchObject({
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      });
    },
  );

  works(
    'anthropic',
    'sampling parameters',
    'stop_sequences, max_tokens and metadata.user_id reach the model',
    async () => {
      g.cloud.enqueue({ text: 'ok' });
      await client.messages.create({
        model: 'unity',
        max_tokens: 20,
        stop_sequences: ['END'],
        metadata: { user_id: 'user-1' },
        messages: ask('hi'),
      });
      expect(cloudChatBodies(g)[0]).toMatchObject({ stop: ['END'], user: 'user-1', max_tokens: 20 });
    },
  );

  refused('anthropic', 'chat', 'an unknown model is a 404 listing the served names', /not served here/, () =>
    client.messages.create({ model: 'no-such-model', max_tokens: 64, messages: ask('hi') }),
  );

  works('anthropic', 'structured output', 'messages.parse with zodOutputFormat returns the parsed object', async () => {
    g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
    const r = await client.messages.parse({
      model: 'unity',
      max_tokens: 64,
      messages: ask('weather in Paris as JSON'),
      output_config: { format: zodOutputFormat(z.object({ city: z.string(), celsius: z.number() })) },
    });
    expect(r.parsed_output).toEqual({ city: 'Paris', celsius: 21 });
    expect(cloudChatBodies(g)[0]).toMatchObject({ response_format: { type: 'json_schema' } });
  });

  refused(
    'anthropic',
    'tools (auto)',
    'a server tool (web_search) is a 400 saying only client tools are served',
    /server tool "web_search_20250305" is not supported/,
    () =>
      client.messages.create({
        model: 'unity',
        max_tokens: 64,
        messages: ask('search'),
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      }),
  );

  works('anthropic', 'token count', 'messages.countTokens gives an estimate without asking any model', async () => {
    const r = await client.messages.countTokens({ model: 'unity', messages: ask('hello there') });
    expect(r.input_tokens).toBeGreaterThan(0);
    expect(cloudChatBodies(g)).toHaveLength(0);
  });

  works('anthropic', 'list models', 'models.list lists the served names', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['unity', 'local', 'claude-sonnet-4-5']));
  });
});
