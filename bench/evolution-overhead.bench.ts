// The evolution loop's own cost per candidate, with an instant coder and an instant evaluator: planning, the bandit,
// the population, prompts, reply parsing, events, and (with a log) one JSONL line plus the candidate's sidecar file.
// Baseline in the same run: calling the same instant coder and evaluator directly, with no loop around them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatModel, evolve, extractCode, functionEvaluator } from '@unity/textgrad';
import { goal, median } from './lib/measure';

const candidates = 2000;
let counter = 0;
const coder: ChatModel = {
  chat: async () => ({
    content: `\`\`\`\nvariant ${++counter}\n\`\`\``,
    toolCalls: [],
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    finishReason: 'stop',
    model: 'instant',
  }),
};
const evaluator = functionEvaluator('instant', (source) => ({ score: (source.length * 7) % 97 }));

async function bare() {
  const started = performance.now();
  for (let i = 0; i < candidates; i++) {
    const reply = await coder.chat({ messages: [{ role: 'user', content: 'x' }] });
    await evaluator.evaluate(extractCode(reply.content), { candidateId: String(i), fileName: 'c' });
  }
  return (performance.now() - started) / candidates;
}

async function loop(withLog: boolean, bandit: 'thompson' | 'ucb1', concurrency = 1) {
  const dir = mkdtempSync(join(tmpdir(), 'evolve-bench-'));
  const started = performance.now();
  const result = await evolve({
    baseline: 'variant 0',
    evaluator,
    coder,
    bandit,
    generations: candidates / concurrency,
    concurrency,
    targetScore: 101,
    ...(withLog ? { logFile: join(dir, 'evolution.jsonl') } : {}),
  });
  const ms = (performance.now() - started) / result.candidates;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const contenders: Record<string, () => Promise<number>> = {
  'coder + evaluator, no loop (baseline)': bare,
  'loop, 5 strategies, Thompson, no log': () => loop(false, 'thompson'),
  'loop, 5 strategies, UCB1, no log': () => loop(false, 'ucb1'),
  'loop, Thompson, JSONL log + texts': () => loop(true, 'thompson'),
  'loop, Thompson, log, concurrency 4': () => loop(true, 'thompson', 4),
};
const rounds = 5;
const samples = new Map<string, number[]>(Object.keys(contenders).map((k) => [k, []]));
await bare();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) samples.get(name)?.push(await run());
}
const base = median(samples.get('coder + evaluator, no loop (baseline)') ?? []);
console.log(`\nper-candidate time over ${candidates} candidates, median of ${rounds} rounds`);
console.log(
  `${'contender'.padEnd(40)} ${'ms/candidate'.padStart(13)} ${'overhead ms'.padStart(12)} ${'ratio'.padStart(8)}`,
);
for (const [name, values] of samples) {
  const m = median(values);
  console.log(
    `${name.padEnd(40)} ${m.toFixed(4).padStart(13)} ${(m - base).toFixed(4).padStart(12)} ${(m / base).toFixed(1).padStart(7)}×`,
  );
}
goal(
  'loop overhead per candidate, no log',
  median(samples.get('loop, 5 strategies, Thompson, no log') ?? []) - base,
  1,
  ' ms',
);
goal(
  'loop overhead per candidate, with the JSONL log',
  median(samples.get('loop, Thompson, JSONL log + texts') ?? []) - base,
  1,
  ' ms',
);
