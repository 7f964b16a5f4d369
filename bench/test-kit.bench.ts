// Baseline for every HTTP benchmark: how fast the fake OpenAI server answers the official client versus raw fetch,
// so later router and gateway benchmarks can tell their own overhead from the fake's.
import { FakeOpenAI } from '@unity/test-kit';
import OpenAI from 'openai';
import { compare, report } from './lib/measure';

const fake = await FakeOpenAI.start();
const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'x', maxRetries: 0 });
const body = JSON.stringify({ model: 'MiniMax-M2', messages: [{ role: 'user', content: 'hello' }] });

const samples = await compare(
  {
    'fetch (raw)': async () => {
      const r = await fetch(`${fake.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
        body,
      });
      await r.json();
    },
    'openai client': () =>
      client.chat.completions.create({ model: 'MiniMax-M2', messages: [{ role: 'user', content: 'hello' }] }),
  },
  { rounds: 300 },
);
report('non-streaming chat against the fake OpenAI server', samples, 'fetch (raw)');
await fake.close();
