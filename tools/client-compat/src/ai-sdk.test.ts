import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { embed, embedMany, generateObject, generateText, stepCountIs, streamObject, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { z } from 'zod';
import { cloudChatBodies, type Gateway, startGateway } from './__tests__/gateway';
import { works } from './matrix/cells';

let g: Gateway;
let openai: ReturnType<typeof createOpenAI>;

beforeAll(async () => {
  g = await startGateway();
  openai = createOpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback' });
});
afterAll(() => g.close());
beforeEach(() => g.reset());

const weather = tool({
  description: 'The weather in a city',
  inputSchema: z.object({ city: z.string() }),
});
const tools = {
  get_weather: weather,
  get_time: tool({ description: 'The time in a zone', inputSchema: z.object({ zone: z.string() }) }),
};
const weatherSchema = z.object({ city: z.string(), celsius: z.number() });

describe('the Vercel AI SDK (ai + @ai-sdk/openai) against the gateway', () => {
  works('ai-sdk', 'chat', 'generateText with openai.chat() answers with the model text', async () => {
    g.cloud.enqueue({ text: 'hello from the cloud', usage: { promptTokens: 3, completionTokens: 4 } });
    const r = await generateText({ model: openai.chat('unity'), prompt: 'hi', maxRetries: 0 });
    expect(r.text).toBe('hello from the cloud');
    expect(r.finishReason).toBe('stop');
    expect(r.usage.outputTokens).toBe(4);
  });

  works('ai-sdk', 'chat', 'generateText with @ai-sdk/openai-compatible answers with the model text', async () => {
    g.cloud.enqueue({ text: 'hello again' });
    const unity = createOpenAICompatible({ name: 'unity', baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback' });
    const r = await generateText({ model: unity.chatModel('unity'), prompt: 'hi', maxRetries: 0 });
    expect(r.text).toBe('hello again');
  });

  works('ai-sdk', 'stream', 'streamText with openai.chat() streams the answer in pieces', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const r = streamText({ model: openai.chat('unity'), prompt: 'count', maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of r.textStream) pieces.push(piece);
    expect(pieces.join('')).toBe('one two three');
    expect(pieces.length).toBeGreaterThan(1);
    expect(await r.finishReason).toBe('stop');
  });

  works('ai-sdk', 'tools (auto)', 'generateText returns the tool call with its name and input', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await generateText({
      model: openai.chat('unity'),
      prompt: 'weather in Paris?',
      tools: { get_weather: weather },
      toolChoice: 'auto',
      maxRetries: 0,
    });
    expect(r.toolCalls).toHaveLength(1);
    expect(r.toolCalls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Paris' } });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tools: [{ function: { name: 'get_weather' } }] });
  });

  works('ai-sdk', 'tools, streamed', 'streamText reassembles the streamed tool call', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const r = streamText({
      model: openai.chat('unity'),
      prompt: 'weather?',
      tools: { get_weather: weather },
      maxRetries: 0,
    });
    const calls = await r.toolCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Oslo' } });
  });

  works('ai-sdk', 'tool results (second turn)', 'runs the tool and sends its result back for the answer', async () => {
    g.cloud.enqueue(
      { toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: { city: 'Paris' } }] },
      { text: 'Sunny in Paris.' },
    );
    const r = await generateText({
      model: openai.chat('unity'),
      prompt: 'weather in Paris?',
      tools: { get_weather: tool({ ...weather, execute: async ({ city }) => `${city}: sunny, 21°C` }) },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    expect(r.text).toBe('Sunny in Paris.');
    const second = cloudChatBodies(g)[1]?.messages as { role: string; tool_call_id?: string; content?: string }[];
    expect(second.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_w' });
    expect(second.at(-1)?.content).toContain('sunny, 21°C');
  });

  works('ai-sdk', 'structured output', 'generateObject with openai.chat() returns the zod-parsed object', async () => {
    g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
    const r = await generateObject({
      model: openai.chat('unity'),
      schema: weatherSchema,
      prompt: 'weather in Paris as JSON',
      maxRetries: 0,
    });
    expect(r.object).toEqual({ city: 'Paris', celsius: 21 });
    const format = cloudChatBodies(g)[0]?.response_format as { type: string; json_schema: { schema: unknown } };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.schema).toMatchObject({ properties: { celsius: { type: 'number' } } });
  });

  works('ai-sdk', 'tool_choice none', "toolChoice 'none' reaches the model, which answers in text", async () => {
    g.cloud.enqueue({ text: 'no tools' });
    const r = await generateText({
      model: openai.chat('unity'),
      prompt: 'hi',
      tools,
      toolChoice: 'none',
      maxRetries: 0,
    });
    expect(r.text).toBe('no tools');
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'none' });
  });

  works('ai-sdk', 'tool_choice required', "toolChoice 'required' reaches the model; its call comes back", async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await generateText({
      model: openai.chat('unity'),
      prompt: 'hi',
      tools,
      toolChoice: 'required',
      maxRetries: 0,
    });
    expect(r.toolCalls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Paris' } });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'required' });
  });

  works(
    'ai-sdk',
    'tool_choice named',
    "toolChoice {type: 'tool', toolName} reaches the model; that call comes back",
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'UTC' } }] });
      const r = await generateText({
        model: openai.chat('unity'),
        prompt: 'hi',
        tools,
        toolChoice: { type: 'tool', toolName: 'get_time' },
        maxRetries: 0,
      });
      expect(r.toolCalls[0]).toMatchObject({ toolName: 'get_time', input: { zone: 'UTC' } });
      expect(cloudChatBodies(g)[0]).toMatchObject({
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      });
    },
  );

  works(
    'ai-sdk',
    'tool_choice named',
    "toolChoice {type: 'tool'} on the local tier gets that tool's call",
    async () => {
      g.local.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'CET' } }] });
      const r = await generateText({
        model: openai.chat('local'),
        prompt: 'hi',
        tools,
        toolChoice: { type: 'tool', toolName: 'get_time' },
        maxRetries: 0,
      });
      expect(r.toolCalls[0]).toMatchObject({ toolName: 'get_time', input: { zone: 'CET' } });
    },
  );

  works(
    'ai-sdk',
    'logprobs',
    'providerOptions.openai.logprobs returns token logprobs in providerMetadata',
    async () => {
      g.cloud.enqueue({ text: 'hello world' });
      const r = await generateText({
        model: openai.chat('unity'),
        prompt: 'hi',
        providerOptions: { openai: { logprobs: 2 } },
        maxRetries: 0,
      });
      const logprobs = r.providerMetadata?.openai?.logprobs as { token: string; top_logprobs: unknown[] }[];
      expect(logprobs.map((t) => t.token).join('')).toBe('hello world');
      expect(logprobs[0]?.top_logprobs).toHaveLength(2);
      expect(cloudChatBodies(g)[0]).toMatchObject({ logprobs: true, top_logprobs: 2 });
    },
  );

  works('ai-sdk', 'sampling parameters', 'topP, penalties, seed and stopSequences reach the cloud', async () => {
    g.cloud.enqueue({ text: 'ok' });
    await generateText({
      model: openai.chat('unity'),
      prompt: 'hi',
      topP: 0.5,
      frequencyPenalty: 0.25,
      presencePenalty: 0.5,
      seed: 7,
      stopSequences: ['END'],
      maxOutputTokens: 20,
      maxRetries: 0,
    });
    expect(cloudChatBodies(g)[0]).toMatchObject({
      top_p: 0.5,
      frequency_penalty: 0.25,
      presence_penalty: 0.5,
      seed: 7,
      stop: ['END'],
    });
  });

  works('ai-sdk', 'Responses API: text', 'generateText with the default openai(…) provider answers', async () => {
    g.cloud.enqueue({ text: 'hello from responses' });
    const r = await generateText({ model: openai('unity'), prompt: 'hi', maxRetries: 0 });
    expect(r.text).toBe('hello from responses');
    expect(r.finishReason).toBe('stop');
  });

  works('ai-sdk', 'Responses API: stream', 'streamText with openai(…) streams the answer in pieces', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const r = streamText({ model: openai('unity'), prompt: 'count', maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of r.textStream) pieces.push(piece);
    expect(pieces.join('')).toBe('one two three');
    expect(pieces.length).toBeGreaterThan(1);
  });

  works(
    'ai-sdk',
    'Responses API: tools',
    "generateText with openai(…) and toolChoice {type: 'tool'} gets that call",
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'UTC' } }] });
      const r = await generateText({
        model: openai('unity'),
        prompt: 'time?',
        tools,
        toolChoice: { type: 'tool', toolName: 'get_time' },
        maxRetries: 0,
      });
      expect(r.toolCalls[0]).toMatchObject({ toolName: 'get_time', input: { zone: 'UTC' } });
      expect(cloudChatBodies(g)[0]).toMatchObject({
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      });
    },
  );

  works(
    'ai-sdk',
    'Responses API: structured output',
    'generateObject with openai(…) returns the parsed object',
    async () => {
      g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
      const r = await generateObject({ model: openai('unity'), schema: weatherSchema, prompt: 'JSON', maxRetries: 0 });
      expect(r.object).toEqual({ city: 'Paris', celsius: 21 });
      expect(cloudChatBodies(g)[0]).toMatchObject({ response_format: { type: 'json_schema' } });
    },
  );

  works('ai-sdk', 'embeddings', 'embed and embedMany with openai.embedding() return the vectors', async () => {
    const one = await embed({ model: openai.embedding('embedding'), value: 'hello world', maxRetries: 0 });
    expect(one.embedding).toHaveLength(1536);
    const many = await embedMany({
      model: openai.embedding('nomic-embed-text'),
      values: ['a b', 'c d'],
      maxRetries: 0,
    });
    expect(many.embeddings.map((e) => e.length)).toEqual([768, 768]);
  });

  works(
    'ai-sdk',
    'structured output',
    'streamObject with openai.chat() streams the object the schema parses',
    async () => {
      g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
      const r = streamObject({ model: openai.chat('unity'), schema: weatherSchema, prompt: 'JSON', maxRetries: 0 });
      const partials: unknown[] = [];
      for await (const partial of r.partialObjectStream) partials.push(partial);
      expect(partials.at(-1)).toEqual({ city: 'Paris', celsius: 21 });
      expect(await r.object).toEqual({ city: 'Paris', celsius: 21 });
    },
  );

  works(
    'ai-sdk',
    'Responses API: tools',
    'generateText with openai(…) runs the tool and sends its result back',
    async () => {
      g.cloud.enqueue(
        { toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: { city: 'Paris' } }] },
        { text: 'Sunny in Paris.' },
      );
      const r = await generateText({
        model: openai('unity'),
        prompt: 'weather in Paris?',
        tools: { get_weather: tool({ ...weather, execute: async ({ city }) => `${city}: sunny` }) },
        stopWhen: stepCountIs(2),
        maxRetries: 0,
      });
      expect(r.text).toBe('Sunny in Paris.');
      const second = cloudChatBodies(g)[1]?.messages as { role: string; tool_call_id?: string; content?: string }[];
      expect(second.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_w' });
      expect(second.at(-1)?.content).toContain('Paris: sunny');
    },
  );

  works(
    'ai-sdk',
    'legacy completions',
    'generateText with openai.completion() answers through /v1/completions',
    async () => {
      g.cloud.enqueue({ text: 'once upon a time' });
      const r = await generateText({ model: openai.completion('unity'), prompt: 'story', maxRetries: 0 });
      expect(r.text).toBe('once upon a time');
    },
  );
});
