// The router's own cost. (1) A routed chat against a direct `undici.request` to the same fake server (the body built
// and the answer parsed, nothing else): goal router median ≤ 1.02× direct (issue #17); the official `openai` client
// and the provider alone (no router) are measured too, to tell the adapter's share from the router's. (2) Fallback from a refused primary (nothing listens on its port) to the local model,
// against a direct `ollama` client call to that local model: goal ≤ 2 ms extra. The breaker is set so high that every
// routed call really meets the refused connection; a second row shows the default breaker, which skips it at zero cost.

import { createRouter, parseConfig } from '@unity/llm-router';
import { createOpenAICompatibleProvider } from '@unity/llm-router/internal';
import { FakeOllama, FakeOpenAI, freePort } from '@unity/test-kit';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { compare, goal, median, report } from './lib/measure';

const key = 'sk-bench';
const cloud = await FakeOpenAI.start({ apiKey: key });
const ollama = await FakeOllama.start();
const refusedPort = await freePort();
const messages = [{ role: 'user' as const, content: 'hello' }];
const env = { MINIMAX_API_KEY: key };

const config = (cloudUrl: string, failureThreshold: number) =>
  parseConfig(
    stringify({
      cloud_llm: { enabled: true, provider: 'minimax', model: 'MiniMax-M2', base_url: cloudUrl },
      models: { reasoning: 'ollama_chat/qwen2.5-coder:7b', fallback: 'ollama_chat/qwen2.5-coder:7b' },
      ollama: { host: ollama.host },
      router: { breaker: { failure_threshold: failureThreshold } },
    }),
    'bench.yaml',
  );

const direct = new OpenAI({ baseURL: cloud.baseURL, apiKey: key, maxRetries: 0 });
const routed = createRouter({ config: config(cloud.baseURL, 5), env });
const provider = createOpenAICompatibleProvider({
  id: 'minimax',
  baseURL: cloud.baseURL,
  apiKey: key,
  flavor: 'minimax',
});

const agent = new Agent({ keepAliveTimeout: 60_000 });
const url = `${cloud.baseURL}/chat/completions`;
const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
const undiciDirect = async () => {
  const response = await request(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'MiniMax-M2', messages }),
    dispatcher: agent,
  });
  return response.body.json();
};

const overhead = await compare(
  {
    'undici.request (direct)': undiciDirect,
    'openai client (direct)': () => direct.chat.completions.create({ model: 'MiniMax-M2', messages }),
    'provider alone (no router)': () =>
      provider.chat({ model: 'MiniMax-M2', messages, maxOutputTokens: 4096, signal: new AbortController().signal }),
    'router.chat (cloud answers)': () => routed.chat({ messages }),
  },
  { rounds: 600, warmup: 50 },
);
report('routed chat vs a direct undici request, same fake server', overhead, 'undici.request (direct)');

const refusedUrl = `http://127.0.0.1:${refusedPort}/v1`;
const directOllama = new Ollama({ host: ollama.host });
const everyCallRefused = createRouter({ config: config(refusedUrl, 1_000_000_000), env });
const defaultBreaker = createRouter({ config: config(refusedUrl, 5), env });

const fallback = await compare(
  {
    'ollama client (direct)': () => directOllama.chat({ model: 'qwen2.5-coder:7b', messages, stream: false }),
    'router: refused primary → local': () => everyCallRefused.chat({ messages }),
    'router: same, default breaker': () => defaultBreaker.chat({ messages }),
  },
  { rounds: 300, warmup: 30 },
);
report('fallback from a refused primary vs a direct call to the secondary', fallback, 'ollama client (direct)');

const m = (name: string, samples: typeof fallback) => median(samples.find((s) => s.name === name)?.times ?? []);
const ratio = m('router.chat (cloud answers)', overhead) / m('undici.request (direct)', overhead);
const routerShare = m('router.chat (cloud answers)', overhead) / m('provider alone (no router)', overhead);
const extra = m('router: refused primary → local', fallback) - m('ollama client (direct)', fallback);
const extraOpen = m('router: same, default breaker', fallback) - m('ollama client (direct)', fallback);
console.log('');
console.log(`router median / provider-alone median (the router's own share): ${routerShare.toFixed(3)}×`);
[
  goal('router median / direct undici.request median', ratio, 1.02, '×'),
  goal('fallback from a refused primary, extra median', extra, 2, ' ms'),
  goal('fallback with the breaker open, extra median', extraOpen, 2, ' ms'),
];

await Promise.all([routed.close(), everyCallRefused.close(), defaultBreaker.close()]);
await Promise.all([cloud.close(), ollama.close(), agent.close()]);
