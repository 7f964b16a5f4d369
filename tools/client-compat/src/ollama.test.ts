import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { cloudChatBodies, type Gateway, localBodies, startGateway } from './__tests__/gateway';
import { refused, works } from './matrix/cells';

let g: Gateway;
let client: Ollama;

beforeAll(async () => {
  g = await startGateway();
  client = new Ollama({ host: g.url });
});
afterAll(() => g.close());
beforeEach(() => g.reset());

const ask = (content: string) => [{ role: 'user', content }];
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } },
  },
};
/** The local model by its Ollama name, as an Ollama app would send it. */
const local = 'qwen2.5-coder:7b';

describe('the official ollama client against the gateway', () => {
  works('ollama', 'chat', 'chat answers through the default chain (the cloud first)', async () => {
    g.cloud.enqueue({ text: 'hello from the cloud' });
    const r = await client.chat({ model: 'unity', messages: ask('hi') });
    expect(r.message).toMatchObject({ role: 'assistant', content: 'hello from the cloud' });
    expect(r.done).toBe(true);
  });

  works('ollama', 'chat', 'chat answers from the local model by its Ollama name', async () => {
    g.local.enqueue({ text: 'hello from ollama' });
    const r = await client.chat({ model: local, messages: ask('hi') });
    expect(r.message.content).toBe('hello from ollama');
    expect(localBodies(g, 'chat')[0]).toMatchObject({ model: local, messages: [{ role: 'user', content: 'hi' }] });
    expect(cloudChatBodies(g)).toHaveLength(0);
  });

  works('ollama', 'stream', 'chat({stream: true}) yields parts ending with done and counts', async () => {
    g.cloud.enqueue({ text: 'alpha beta gamma' });
    const parts: string[] = [];
    let last: { done: boolean; eval_count?: number } | undefined;
    for await (const part of await client.chat({ model: 'unity', messages: ask('go'), stream: true })) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.join('')).toBe('alpha beta gamma');
    expect(parts.length).toBeGreaterThan(2);
    expect(last).toMatchObject({ done: true, eval_count: 3 });
  });

  works('ollama', 'tools (auto)', 'chat({tools}) returns the tool call with object arguments', async () => {
    g.local.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const r = await client.chat({ model: local, messages: ask('weather in Paris?'), tools: [weather] });
    expect(r.message.tool_calls?.[0]?.function).toMatchObject({ name: 'get_weather', arguments: { city: 'Paris' } });
    expect(localBodies(g, 'chat')[0]).toMatchObject({ tools: [{ function: { name: 'get_weather' } }] });
  });

  works(
    'ollama',
    'tools (auto)',
    'chat({tools}) through the cloud model gets the call back in Ollama shape',
    async () => {
      g.cloud.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }] });
      const r = await client.chat({ model: 'unity', messages: ask('weather in Rome?'), tools: [weather] });
      expect(r.message.tool_calls?.[0]?.function).toMatchObject({ name: 'get_weather', arguments: { city: 'Rome' } });
    },
  );

  works('ollama', 'tools, streamed', 'chat({tools, stream: true}) delivers the tool call in a part', async () => {
    g.local.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const calls: unknown[] = [];
    for await (const part of await client.chat({ model: local, messages: ask('w?'), tools: [weather], stream: true })) {
      calls.push(...(part.message.tool_calls ?? []));
    }
    expect(calls).toEqual([expect.objectContaining({ function: expect.objectContaining({ name: 'get_weather' }) })]);
    expect(calls[0]).toMatchObject({ function: { arguments: { city: 'Oslo' } } });
  });

  works('ollama', 'tool results (second turn)', "a role: 'tool' message reaches the model", async () => {
    g.local.enqueue({ text: 'Sunny in Paris.' });
    const r = await client.chat({
      model: local,
      tools: [weather],
      messages: [
        ...ask('weather in Paris?'),
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
        },
        { role: 'tool', content: 'sunny, 21°C', tool_name: 'get_weather' },
      ],
    });
    expect(r.message.content).toBe('Sunny in Paris.');
    const sent = localBodies(g, 'chat')[0]?.messages as { role: string; content: string }[];
    expect(sent.at(-1)).toMatchObject({ role: 'tool', content: 'sunny, 21°C' });
  });

  works('ollama', 'structured output', 'chat({format: schema}) passes the schema and returns the JSON', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    g.local.enqueue({ text: '{"city":"Paris"}' });
    const r = await client.chat({ model: local, messages: ask('city as JSON'), format: schema });
    expect(JSON.parse(r.message.content)).toEqual({ city: 'Paris' });
    expect(localBodies(g, 'chat')[0]).toMatchObject({ format: schema });
  });

  works('ollama', 'legacy completions', 'generate answers the prompt, streamed and not', async () => {
    g.cloud.enqueue({ text: 'generated' }, { text: 'once upon a time' });
    expect((await client.generate({ model: 'unity', prompt: 'write' })).response).toBe('generated');
    let text = '';
    for await (const part of await client.generate({ model: 'unity', prompt: 'story', stream: true })) {
      text += part.response;
    }
    expect(text).toBe('once upon a time');
  });

  works('ollama', 'list models', 'list names the served models', async () => {
    const r = await client.list();
    expect(r.models.map((m) => m.name)).toEqual(expect.arrayContaining(['unity', 'local', 'coding']));
  });

  works(
    'ollama',
    'sampling parameters',
    'options top_p, top_k, penalties, seed, stop and num_predict reach Ollama',
    async () => {
      g.local.enqueue({ text: 'ok' });
      const options = {
        top_p: 0.5,
        top_k: 20,
        frequency_penalty: 0.25,
        presence_penalty: 0.5,
        seed: 7,
        stop: ['END'],
        num_predict: 20,
      };
      await client.chat({ model: local, messages: ask('hi'), options });
      expect(localBodies(g, 'chat')[0]).toMatchObject({ options });
    },
  );

  works(
    'ollama',
    'sampling parameters',
    'options top_p, penalties, seed and stop reach the cloud mapped to OpenAI fields',
    async () => {
      g.cloud.enqueue({ text: 'ok' });
      await client.chat({
        model: 'unity',
        messages: ask('hi'),
        options: {
          top_p: 0.5,
          frequency_penalty: 0.25,
          presence_penalty: 0.5,
          seed: 7,
          stop: ['END'],
          num_predict: 20,
        },
      });
      expect(cloudChatBodies(g)[0]).toMatchObject({
        top_p: 0.5,
        frequency_penalty: 0.25,
        presence_penalty: 0.5,
        seed: 7,
        stop: ['END'],
      });
    },
  );

  works('ollama', 'logprobs', "chat({logprobs: true}) returns the local model's token logprobs", async () => {
    g.local.enqueue({ text: 'hello world' });
    const r = await client.chat({ model: local, messages: ask('hi'), logprobs: true, top_logprobs: 1 } as never);
    const logprobs = (r as unknown as { logprobs?: { token: string }[] }).logprobs ?? [];
    expect(logprobs.map((t) => t.token).join('')).toBe('hello world');
    expect(localBodies(g, 'chat')[0]).toMatchObject({ logprobs: true, top_logprobs: 1 });
  });

  works('ollama', 'embeddings', 'embed returns one vector per input from nomic-embed-text', async () => {
    const r = await client.embed({ model: 'nomic-embed-text', input: ['hello world', 'good night'] });
    expect(r.embeddings.map((e) => e.length)).toEqual([768, 768]);
    expect(localBodies(g, 'embed')[0]).toMatchObject({
      model: 'nomic-embed-text',
      input: ['hello world', 'good night'],
    });
  });

  works('ollama', 'embeddings', 'embeddings (the legacy call) returns the vector', async () => {
    const r = await client.embeddings({ model: 'nomic-embed-text', prompt: 'hello' });
    expect(r.embedding).toHaveLength(768);
  });

  works('ollama', 'one model', "show reports the local model's context length and capabilities", async () => {
    const r = await client.show({ model: local });
    expect(r.model_info).toMatchObject({ 'qwen2.context_length': 32_768 });
    expect(r.capabilities).toEqual(expect.arrayContaining(['completion', 'tools']));
  });

  refused('ollama', 'one model', 'show of an unknown model is a 404 listing the served names', /not served here/, () =>
    client.show({ model: 'no-such-model' }),
  );

  works('ollama', 'list models', "list gives the local model's size, digest and family", async () => {
    const r = await client.list();
    const m = r.models.find((x) => x.name === local || x.name === `ollama_chat/${local}`);
    expect(m?.size).toBe(4_683_087_332);
    expect(m?.digest).toMatch(/^(sha256:)?[0-9a-f]{64}$/);
    expect(m?.details.family).toBe('qwen2');
  });

  works('ollama', 'loaded models', 'ps lists the model the local tier holds after a chat', async () => {
    await client.chat({ model: local, messages: ask('hi') });
    const r = await client.ps();
    expect(r.models.map((m) => m.name)).toEqual(expect.arrayContaining([expect.stringContaining(local)]));
  });

  works('ollama', 'version', 'version reports an Ollama API version clients accept (0.6 or later)', async () => {
    const { version } = await client.version();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    expect(major > 0 || minor >= 6).toBe(true);
  });

  works('ollama', 'pull', "pull streams the local Ollama's progress and ends with success", async () => {
    const statuses: string[] = [];
    for await (const part of await client.pull({ model: local, stream: true })) statuses.push(part.status);
    expect(statuses[0]).toBe('pulling manifest');
    expect(statuses.at(-1)).toBe('success');
    expect(g.local.requestsTo('/api/pull')[0]?.body).toMatchObject({ model: local });
  });

  refused(
    'ollama',
    'pull',
    'pull of a name the gateway does not serve is a 404 naming it',
    /"llama3.2:1b" is not served/,
    () => client.pull({ model: 'llama3.2:1b' }),
  );

  refused('ollama', 'chat', 'an unknown model is a 404 listing the served names', /not served here/, () =>
    client.chat({ model: 'no-such-model', messages: ask('hi') }),
  );

  works('ollama', 'embeddings', 'embed with dimensions shortens the vectors', async () => {
    const r = await client.embed({ model: 'nomic-embed-text', input: 'hello', dimensions: 64 } as never);
    expect(r.embeddings[0]).toHaveLength(64);
  });

  for (const [call, run] of [
    ['delete', () => client.delete({ model: local })],
    ['copy', () => client.copy({ source: local, destination: 'mine' })],
    ['create', () => client.create({ model: 'mine', from: local })],
    ['push', () => client.push({ model: 'mine' })],
  ] as const) {
    refused(
      'ollama',
      'model management',
      `${call} is a 404 naming the route`,
      new RegExp(`no route \\w+ /api/${call}`),
      run,
    );
  }
});
