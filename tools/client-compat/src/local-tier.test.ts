// tool_choice on the local tier, which Ollama does not honour itself: the router checks each answer and retries the
// model until it makes the call asked for (so this gateway retries, unlike the other files' gateways).
import { createOpenAI } from '@ai-sdk/openai';
import { tool as lcTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { z } from 'zod';
import { type Gateway, localBodies, startGateway } from './__tests__/gateway';
import { works } from './matrix/cells';

let g: Gateway;
let client: OpenAI;

beforeAll(async () => {
  g = await startGateway({ maxRetries: 2 });
  client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0, timeout: 10_000 });
});
afterAll(() => g.close());
beforeEach(() => g.reset());

const ask = (content: string) => [{ role: 'user' as const, content }];
const fn = (name: string, arg: string): OpenAI.ChatCompletionFunctionTool => ({
  type: 'function',
  function: { name, parameters: { type: 'object', properties: { [arg]: { type: 'string' } }, required: [arg] } },
});
const weather = fn('get_weather', 'city');
const time = fn('get_time', 'zone');

describe('tool_choice held on the local tier (Ollama), with the router retrying a model that ignores it', () => {
  works(
    'openai',
    'tool_choice required',
    'a local model that answers in text is asked again until it calls',
    async () => {
      g.local.enqueue(
        { text: 'I will not call a tool' },
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
      );
      const { data, response } = await client.chat.completions
        .create({ model: 'local', messages: ask('hi'), tools: [weather], tool_choice: 'required' })
        .withResponse();
      const call = data.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function.name).toBe('get_weather');
      expect(response.headers.get('x-unity-attempts')).toBe(
        'ollama_chat/qwen2.5-coder:7b BAD_RESPONSE, ollama_chat/qwen2.5-coder:7b ok',
      );
      expect(localBodies(g, 'chat')).toHaveLength(2);
    },
  );

  works(
    'openai',
    'tool_choice named',
    'a local model that calls another tool is asked again; streamed too',
    async () => {
      g.local.enqueue(
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { toolCalls: [{ name: 'get_time', arguments: { zone: 'CET' } }] },
      );
      const stream = await client.chat.completions.create({
        model: 'local',
        messages: ask('hi'),
        tools: [weather, time],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
        stream: true,
      });
      const names: string[] = [];
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta.tool_calls ?? [])
          if (call.function?.name) names.push(call.function.name);
      }
      expect(names).toEqual(['get_time']);
    },
  );

  works(
    'ai-sdk',
    'tool_choice named',
    "toolChoice {type: 'tool'} on a local model that first calls another tool",
    async () => {
      g.local.enqueue(
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { toolCalls: [{ name: 'get_time', arguments: { zone: 'CET' } }] },
      );
      const openai = createOpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback' });
      const r = await generateText({
        model: openai.chat('local'),
        prompt: 'hi',
        tools: {
          get_weather: tool({ inputSchema: z.object({ city: z.string() }) }),
          get_time: tool({ inputSchema: z.object({ zone: z.string() }) }),
        },
        toolChoice: { type: 'tool', toolName: 'get_time' },
        maxRetries: 0,
      });
      expect(r.toolCalls).toHaveLength(1);
      expect(r.toolCalls[0]).toMatchObject({ toolName: 'get_time', input: { zone: 'CET' } });
    },
  );

  works(
    'langchain',
    'tool_choice named',
    'bindTools(…, {tool_choice: name}) on a local model gets that tool',
    async () => {
      g.local.enqueue(
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { toolCalls: [{ name: 'get_time', arguments: { zone: 'CET' } }] },
      );
      const model = new ChatOpenAI({
        model: 'local',
        apiKey: 'unused-on-loopback',
        configuration: { baseURL: `${g.url}/v1` },
        maxRetries: 0,
      });
      const tools = [
        lcTool(async () => '', { name: 'get_weather', description: 'weather', schema: z.object({ city: z.string() }) }),
        lcTool(async () => '', { name: 'get_time', description: 'time', schema: z.object({ zone: z.string() }) }),
      ];
      const r = await model.bindTools(tools, { tool_choice: 'get_time' }).invoke('hi');
      expect(r.tool_calls?.map((c) => c.name)).toEqual(['get_time']);
    },
  );
});
