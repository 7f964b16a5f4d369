// A race with hedging against one model alone, when that model is slow 10% of the time (the test kit's fake OpenAI:
// 5 ms to the first byte usually, 250 ms one answer in ten). Contenders, interleaved in one run:
//   single      router.chat with the flaky model;
//   race fixed  ensemble/<race>: the flaky model first, a steady second model (20 ms) started after 40 ms without a
//               first token (hedge_after_ms);
//   race p95    the same, started after the flaky model's p95 time to first token, learnt (hedge: p95);
//   race all    both members at once (no hedging): the latency floor, at twice the requests.
// Figures: p50 and p99 of each, the ratio of each p99 to the single model's, and how many requests each sent upstream
// per answer (what the hedge costs). Goal: race p99 ≤ 0.5 × the single model's p99.

import { createRouter, parseConfig } from '@unity/llm-router';
import { FakeOpenAI } from '@unity/test-kit';
import { stringify } from 'yaml';
import { compare, goal, percentile, report } from './lib/measure';

const key = 'sk-bench';
const cloud = await FakeOpenAI.start({ apiKey: key, models: ['flaky', 'steady'] });
// A fixed pseudo-random sequence (LCG), so that every run draws the same slow answers.
let seed = 12345;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
cloud.setDefault((request) =>
  request.body.model === 'flaky'
    ? { text: 'the answer', delayMs: random() < 0.1 ? 250 : 5 }
    : { text: 'the answer', delayMs: 20 },
);

const race = (extra: Record<string, unknown>) => ({
  members: ['minimax/flaky', 'minimax/steady'],
  strategy: 'race',
  ...extra,
});
const config = parseConfig(
  stringify({
    cloud_llm: { provider: 'minimax', model: 'flaky', base_url: cloud.baseURL, fallback_to_local: false },
    router: { retries: { max_retries: 0 }, breaker: { failure_threshold: 1_000_000 } },
    ensembles: {
      fixed: race({ hedge_after_ms: 40 }),
      p95: race({ hedge: 'p95', hedge_after_ms: 40 }),
      all: race({}),
    },
  }),
  'bench.yaml',
);
const router = createRouter({ config, env: { MINIMAX_API_KEY: key } });
const messages = [{ role: 'user' as const, content: 'hello' }];

const sent: Record<string, number> = {};
const counted = (name: string, fn: () => Promise<unknown>) => async () => {
  const before = cloud.requestsTo('/chat/completions').length;
  await fn();
  sent[name] = (sent[name] ?? 0) + cloud.requestsTo('/chat/completions').length - before;
  // The fake keeps every request: forget them, or a long run would slow down on its own log.
  if (cloud.requests.length > 10_000) cloud.reset();
};
const contenders = {
  single: counted('single', () => router.chat({ messages, model: 'minimax/flaky' })),
  'race fixed (hedge_after_ms: 40)': counted('race fixed (hedge_after_ms: 40)', () =>
    router.chat({ messages, model: 'ensemble/fixed' }),
  ),
  'race p95 (hedge: p95)': counted('race p95 (hedge: p95)', () => router.chat({ messages, model: 'ensemble/p95' })),
  'race all (no hedge)': counted('race all (no hedge)', () => router.chat({ messages, model: 'ensemble/all' })),
};
const rounds = 400;
const samples = await compare(contenders, { rounds, warmup: 20 });
report('race with hedging vs one model that is slow 10% of the time (median, p95)', samples, 'single');

const single = samples.find((s) => s.name === 'single')!;
const singleP99 = percentile(single.times, 99);
console.log(
  `\n${'contender'.padEnd(36)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'p99 ratio'.padStart(10)} ${'upstream/answer'.padStart(16)}`,
);
for (const s of samples) {
  const p99 = percentile(s.times, 99);
  const perAnswer = (sent[s.name] ?? 0) / (rounds + 20);
  console.log(
    `${s.name.padEnd(36)} ${percentile(s.times, 50).toFixed(1).padStart(9)} ${p99.toFixed(1).padStart(9)} ${(p99 / singleP99).toFixed(3).padStart(9)}× ${perAnswer.toFixed(2).padStart(16)}`,
  );
}
console.log('');
const p99Of = (name: string) => percentile(samples.find((s) => s.name === name)!.times, 99);
goal('race fixed p99 / single p99', p99Of('race fixed (hedge_after_ms: 40)') / singleP99, 0.5, '×');
goal('race p95 p99 / single p99', p99Of('race p95 (hedge: p95)') / singleP99, 0.5, '×');

await router.close();
await cloud.close();
