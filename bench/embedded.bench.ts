// Tokens per second of the embedded engine: node-llama-cpp used directly (the baseline) against the llamacpp provider
// and the router in front of it, on the same model with the same settings (1 thread, 512-token context, one sequence,
// greedy, the same prompt and token budget), interleaved round by round. Goal: provider and router ≥ 0.95× direct.

import { createRouter, parseConfig } from '@unity/llm-router';
import { createLlamaCppProvider } from '@unity/llm-router/internal';
import { sharedModelPath } from '@unity/test-kit';
import { getLlama, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp';
import { stringify } from 'yaml';
import { compare, goal, median, report } from './lib/measure';

const modelPath = sharedModelPath();
if (!modelPath) {
  console.log('skipped: ../shared/models/stories260K.gguf is absent (set UNITY_TEST_MODEL to a GGUF file)');
  process.exit(0);
}

const TOKENS = Number(process.env.BENCH_TOKENS ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const prompt = 'Once upon a time, there was a little';
const settings = { threads: 1, contextSize: 512, temperature: 0 };

// Baseline: the library on its own.
const llama = await getLlama({
  gpu: false,
  build: 'never',
  maxThreads: settings.threads,
  logLevel: LlamaLogLevel.disabled,
});
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({
  contextSize: settings.contextSize,
  sequences: 1,
  threads: settings.threads,
});
const completion = new LlamaCompletion({ contextSequence: context.getSequence() });

const provider = createLlamaCppProvider({ modelPath, ...settings, sequences: 1 });
const router = createRouter({
  config: parseConfig(
    stringify({
      cloud_llm: { enabled: false },
      models: {
        reasoning: `llamacpp/${modelPath}`,
        coding: `llamacpp/${modelPath}`,
        fallback: `llamacpp/${modelPath}`,
      },
      llamacpp: { threads: settings.threads, context_size: settings.contextSize, sequences: 1 },
    }),
    'bench.yaml',
  ),
});

const messages = [{ role: 'user' as const, content: prompt }];
const counts: Record<string, number[]> = { direct: [], provider: [], router: [] };

const samples = await compare(
  {
    'node-llama-cpp direct': async () => {
      let tokens = 0;
      await completion.generateCompletion(prompt, {
        maxOutputTokens: TOKENS,
        temperature: settings.temperature,
        disableContextShift: true,
        onTextChunk: () => {},
        onToken: (t) => {
          tokens += t.length;
        },
      });
      counts.direct?.push(tokens);
    },
    'llamacpp provider (stream)': async () => {
      for await (const event of provider.stream({
        model: 'stories260K',
        messages,
        maxOutputTokens: TOKENS,
        temperature: settings.temperature,
        signal: new AbortController().signal,
      })) {
        if (event.type === 'finish') counts.provider?.push(event.usage.outputTokens);
      }
    },
    'router → llamacpp (stream)': async () => {
      for await (const event of router.stream({
        messages,
        maxOutputTokens: TOKENS,
        temperature: settings.temperature,
      })) {
        if (event.type === 'finish') counts.router?.push(event.response.usage.outputTokens);
      }
    },
  },
  { rounds: ROUNDS, warmup: 3 },
);

report(
  `generating ${TOKENS} tokens (stories260K, 1 thread, greedy), wall time per request`,
  samples,
  'node-llama-cpp direct',
);
const tokensPerSecond = (name: string, key: string) => {
  const times = samples.find((s) => s.name === name)?.times ?? [];
  return median(counts[key]?.slice(-times.length) ?? []) / (median(times) / 1000);
};
const direct = tokensPerSecond('node-llama-cpp direct', 'direct');
const viaProvider = tokensPerSecond('llamacpp provider (stream)', 'provider');
const viaRouter = tokensPerSecond('router → llamacpp (stream)', 'router');
console.log(
  `tokens/s: direct ${direct.toFixed(0)}, provider ${viaProvider.toFixed(0)}, router ${viaRouter.toFixed(0)} (tokens per request: ${median(counts.direct ?? [])})`,
);
goal('provider tokens/s vs direct', viaProvider / direct, 0.95, '×', 'higher');
goal('router tokens/s vs direct', viaRouter / direct, 0.95, '×', 'higher');

await router.close();
await provider.close?.();
await context.dispose();
await model.dispose();
await llama.dispose();
