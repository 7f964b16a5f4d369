import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { z } from 'zod';
import { cloudChatBodies, type Gateway, startGateway } from './__tests__/gateway';
import { works } from './matrix/cells';

let g: Gateway;

beforeAll(async () => {
  g = await startGateway();
});
afterAll(() => g.close());
beforeEach(() => g.reset());

const chat = (fields: ConstructorParameters<typeof ChatOpenAI>[0] = {}) =>
  new ChatOpenAI({
    model: 'unity',
    apiKey: 'unused-on-loopback',
    configuration: { baseURL: `${g.url}/v1` },
    maxRetries: 0,
    ...fields,
  });

const weather = tool(async ({ city }) => `${city}: sunny`, {
  name: 'get_weather',
  description: 'The weather in a city',
  schema: z.object({ city: z.string() }),
});
const time = tool(async ({ zone }) => `${zone}: noon`, {
  name: 'get_time',
  description: 'The time in a zone',
  schema: z.object({ zone: z.string() }),
});
const weatherSchema = z.object({ city: z.string(), celsius: z.number() });

describe('LangChain JS (@langchain/openai) against the gateway', () => {
  works('langchain', 'chat', 'invoke answers with the model text', async () => {
    g.cloud.enqueue({ text: 'hello from the cloud' });
    const r = await chat().invoke('hi');
    expect(r.content).toBe('hello from the cloud');
  });

  works('langchain', 'stream', 'stream yields chunks that reassemble into the answer', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const pieces: string[] = [];
    for await (const chunk of await chat().stream('count')) pieces.push(String(chunk.content));
    expect(pieces.join('')).toBe('one two three');
    expect(pieces.filter(Boolean).length).toBeGreaterThan(1);
  });

  works('langchain', 'tools (auto)', 'bindTools returns the tool call with its name and args', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await chat().bindTools([weather]).invoke('weather in Paris?');
    expect(r.tool_calls).toHaveLength(1);
    expect(r.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tools: [{ function: { name: 'get_weather' } }] });
  });

  works('langchain', 'tools, streamed', 'a streamed tool call is reassembled from its chunks', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    let whole: Awaited<ReturnType<ReturnType<typeof chat>['invoke']>> | undefined;
    for await (const chunk of await chat().bindTools([weather]).stream('weather?')) {
      whole = whole ? whole.concat(chunk) : chunk;
    }
    expect(whole?.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Oslo' } });
  });

  works('langchain', 'tool results (second turn)', 'a ToolMessage reaches the model as a tool message', async () => {
    g.cloud.enqueue({ text: 'Sunny in Paris.' });
    const r = await chat()
      .bindTools([weather])
      .invoke([
        new HumanMessage('weather in Paris?'),
        new AIMessage({ content: '', tool_calls: [{ id: 'call_1', name: 'get_weather', args: { city: 'Paris' } }] }),
        new ToolMessage({ tool_call_id: 'call_1', content: 'sunny, 21°C' }),
      ]);
    expect(r.content).toBe('Sunny in Paris.');
    const sent = cloudChatBodies(g)[0]?.messages as { role: string; tool_call_id?: string; content?: string }[];
    expect(sent.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'sunny, 21°C' });
  });

  works(
    'langchain',
    'structured output',
    'withStructuredOutput(zod) returns the parsed object (json_schema)',
    async () => {
      g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
      const schema = z.object({ city: z.string(), celsius: z.number() });
      const r = await chat().withStructuredOutput(schema, { name: 'weather' }).invoke('weather in Paris as JSON');
      expect(r).toEqual({ city: 'Paris', celsius: 21 });
      expect(cloudChatBodies(g)[0]).toMatchObject({ response_format: { type: 'json_schema' } });
    },
  );

  works('langchain', 'tool_choice none', "bindTools(…, {tool_choice: 'none'}) reaches the model", async () => {
    g.cloud.enqueue({ text: 'no tools' });
    const r = await chat().bindTools([weather, time], { tool_choice: 'none' }).invoke('hi');
    expect(r.content).toBe('no tools');
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'none' });
  });

  works('langchain', 'tool_choice required', "bindTools(…, {tool_choice: 'required'}) reaches the model", async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await chat().bindTools([weather, time], { tool_choice: 'required' }).invoke('hi');
    expect(r.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: 'required' });
  });

  works('langchain', 'tool_choice named', 'bindTools(…, {tool_choice: name}) gets that tool, not another', async () => {
    g.cloud.enqueue({ toolCalls: [{ name: 'get_time', arguments: { zone: 'UTC' } }] });
    const r = await chat().bindTools([weather, time], { tool_choice: 'get_time' }).invoke('hi');
    expect(r.tool_calls?.[0]).toMatchObject({ name: 'get_time', args: { zone: 'UTC' } });
    expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: { type: 'function', function: { name: 'get_time' } } });
  });

  works(
    'langchain',
    'structured output',
    "withStructuredOutput(zod, {method: 'functionCalling'}) forces that tool and parses its arguments",
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'weather', arguments: { city: 'Paris', celsius: 21 } }] });
      const r = await chat()
        .withStructuredOutput(weatherSchema, { name: 'weather', method: 'functionCalling' })
        .invoke('JSON');
      expect(r).toEqual({ city: 'Paris', celsius: 21 });
      expect(cloudChatBodies(g)[0]).toMatchObject({ tool_choice: { type: 'function', function: { name: 'weather' } } });
    },
  );

  works('langchain', 'n', 'ChatOpenAI({n: 2}).generate gives two generations', async () => {
    g.cloud.enqueue({ text: 'first', choiceTexts: ['second'] }, { text: 'second' });
    const r = await chat({ n: 2 }).generate([[new HumanMessage('hi')]]);
    expect(r.generations[0]?.map((gen) => gen.text).sort()).toEqual(['first', 'second']);
  });

  works('langchain', 'logprobs', 'ChatOpenAI({logprobs: true}) puts token logprobs in response_metadata', async () => {
    g.cloud.enqueue({ text: 'hello world' });
    const r = await chat({ logprobs: true, topLogprobs: 2 }).invoke('hi');
    const content = (r.response_metadata.logprobs as { content: { token: string }[] }).content;
    expect(content.map((t) => t.token).join('')).toBe('hello world');
    expect(cloudChatBodies(g)[0]).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });

  works('langchain', 'sampling parameters', 'topP, penalties and stop reach the cloud', async () => {
    g.cloud.enqueue({ text: 'ok' });
    await chat({ topP: 0.5, frequencyPenalty: 0.25, presencePenalty: 0.5, stop: ['END'], maxTokens: 20 }).invoke('hi');
    expect(cloudChatBodies(g)[0]).toMatchObject({
      top_p: 0.5,
      frequency_penalty: 0.25,
      presence_penalty: 0.5,
      stop: ['END'],
    });
  });

  works('langchain', 'Responses API: text', 'invoke with useResponsesApi answers', async () => {
    g.cloud.enqueue({ text: 'hello from responses' });
    const r = await chat({ useResponsesApi: true }).invoke('hi');
    expect(r.text).toBe('hello from responses');
  });

  works('langchain', 'Responses API: stream', 'stream with useResponsesApi yields the answer in chunks', async () => {
    g.cloud.enqueue({ text: 'one two three' });
    const pieces: string[] = [];
    for await (const chunk of await chat({ useResponsesApi: true }).stream('count')) pieces.push(chunk.text);
    expect(pieces.join('')).toBe('one two three');
    expect(pieces.filter(Boolean).length).toBeGreaterThan(1);
  });

  works(
    'langchain',
    'Responses API: tools',
    'bindTools with useResponsesApi and a named tool_choice gets that call',
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
      const r = await chat({ useResponsesApi: true })
        .bindTools([weather, time], { tool_choice: 'get_weather' })
        .invoke('weather?');
      expect(r.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
      expect(cloudChatBodies(g)[0]).toMatchObject({
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
    },
  );

  works(
    'langchain',
    'Responses API: structured output',
    'withStructuredOutput with useResponsesApi parses',
    async () => {
      g.cloud.enqueue({ text: '{"city":"Paris","celsius":21}' });
      const r = await chat({ useResponsesApi: true })
        .withStructuredOutput(weatherSchema, { name: 'weather' })
        .invoke('JSON');
      expect(r).toEqual({ city: 'Paris', celsius: 21 });
      expect(cloudChatBodies(g)[0]).toMatchObject({ response_format: { type: 'json_schema' } });
    },
  );

  works('langchain', 'embeddings', 'OpenAIEmbeddings embedQuery and embedDocuments return the vectors', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'nomic-embed-text',
      apiKey: 'unused-on-loopback',
      configuration: { baseURL: `${g.url}/v1` },
      maxRetries: 0,
    });
    expect(await embeddings.embedQuery('hello')).toHaveLength(768);
    const docs = await embeddings.embedDocuments(['a b', 'c d']);
    expect(docs.map((d) => d.length)).toEqual([768, 768]);
  });

  works('langchain', 'legacy completions', 'the OpenAI completions LLM answers through /v1/completions', async () => {
    g.cloud.enqueue({ text: 'once upon a time' });
    const llm = new OpenAI({
      model: 'unity',
      apiKey: 'unused-on-loopback',
      configuration: { baseURL: `${g.url}/v1` },
      maxRetries: 0,
    });
    expect(await llm.invoke('story')).toBe('once upon a time');
    expect(cloudChatBodies(g)[0]).toMatchObject({ messages: [{ role: 'user', content: 'story' }] });
  });
});
