// OneMax (n = 100) through the real evolution loop: synthetic bit-flip strategies instead of a coder model, a
// function evaluator counting ones, the Thompson bandit choosing the operator, one elite ((1+1)-style selection).
// Goal: evaluations to reach the optimum within 1.2× of e·n·ln n ≈ 1,252. Baseline in the same run: a hand-written
// (1+1) EA with standard bit mutation, the algorithm e·n·ln n describes.
import { type ChatModel, evolve, functionEvaluator, type Random, type Strategy } from '@unity/textgrad';
import { goal, median } from './lib/measure';

const n = 100;
const runs = 20;
const enlnn = Math.E * n * Math.log(n);

const ones = (bits: string) => {
  let c = 0;
  for (let i = 0; i < bits.length; i++) if (bits.charCodeAt(i) === 49) c++;
  return c;
};
const flip = (bits: string, positions: Iterable<number>) => {
  const a = bits.split('');
  for (const i of positions) a[i] = a[i] === '1' ? '0' : '1';
  return a.join('');
};
const distinct = (random: Random, k: number) => {
  const set = new Set<number>();
  while (set.size < k) set.add(Math.floor(random() * n));
  return set;
};
/** Standard bit mutation (each bit with probability 1/n), drawn again until at least one bit flips. */
const standard = (bits: string, random: Random) => {
  for (;;) {
    const positions = [...Array(n).keys()].filter(() => random() < 1 / n);
    if (positions.length > 0) return flip(bits, positions);
  }
};

const strategies: Strategy[] = [
  { name: 'flip-1', propose: async ({ parent, random }) => flip(parent.source, distinct(random, 1)) },
  { name: 'standard', propose: async ({ parent, random }) => standard(parent.source, random) },
  { name: 'flip-3', propose: async ({ parent, random }) => flip(parent.source, distinct(random, 3)) },
  { name: 'flip-10', propose: async ({ parent, random }) => flip(parent.source, distinct(random, 10)) },
];
const noCoder: ChatModel = { chat: () => Promise.reject(new Error('no coder in OneMax')) };

function randomBits(seed: number) {
  let s = seed * 2654435761;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 16) & 1 ? '1' : '0';
  }).join('');
}

async function throughLoop(seed: number, bandit: 'thompson' | 'ucb1', only?: string) {
  let evaluations = 0;
  const result = await evolve({
    baseline: randomBits(seed),
    evaluator: functionEvaluator('onemax', (bits) => {
      evaluations++;
      return { score: (100 * ones(bits)) / n };
    }),
    coder: noCoder,
    strategies: only ? strategies.filter((s) => s.name === only) : strategies,
    bandit,
    elites: 1,
    generations: 100_000,
    seed,
  });
  if (result.best.score !== 100) throw new Error(`seed ${seed} stopped at ${result.best.score}`);
  return { evaluations, strategies: result.strategies };
}

function plainOnePlusOne(seed: number) {
  let s = seed + 1;
  const random = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
  let x = randomBits(seed);
  let fx = ones(x);
  let evaluations = 1;
  while (fx < n) {
    const y = standard(x, random);
    evaluations++;
    const fy = ones(y);
    if (fy >= fx) {
      x = y;
      fx = fy;
    }
  }
  return evaluations;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const seeds = [...Array(runs).keys()];
const baseline = seeds.map(plainOnePlusOne);
const rows: Array<[string, number[]]> = [['(1+1) EA, hand-written (baseline)', baseline]];
rows.push([
  'loop, standard mutation only',
  await Promise.all(seeds.map(async (s) => (await throughLoop(s, 'thompson', 'standard')).evaluations)).then((v) => v),
]);
const thompsonRuns = [];
for (const s of seeds) thompsonRuns.push(await throughLoop(s, 'thompson'));
rows.push(['loop, 4 operators, Thompson', thompsonRuns.map((r) => r.evaluations)]);
const ucbRuns = [];
for (const s of seeds) ucbRuns.push(await throughLoop(s, 'ucb1'));
rows.push(['loop, 4 operators, UCB1', ucbRuns.map((r) => r.evaluations)]);

console.log(`\nOneMax n=${n}: evaluations to the optimum over ${runs} seeds (e·n·ln n = ${enlnn.toFixed(0)})`);
console.log(
  `${'contender'.padEnd(36)} ${'mean'.padStart(8)} ${'median'.padStart(8)} ${'vs e·n·ln n'.padStart(12)} ${'vs baseline'.padStart(12)}`,
);
for (const [name, values] of rows) {
  console.log(
    `${name.padEnd(36)} ${mean(values).toFixed(0).padStart(8)} ${median(values).toFixed(0).padStart(8)} ${(mean(values) / enlnn).toFixed(3).padStart(11)}× ${(mean(values) / mean(baseline)).toFixed(3).padStart(11)}×`,
  );
}
const pulls = (runsOf: typeof thompsonRuns) =>
  strategies.map((s) => `${s.name} ${mean(runsOf.map((r) => r.strategies[s.name]?.pulls ?? 0)).toFixed(0)}`).join(', ');
console.log(`mean pulls per operator, Thompson: ${pulls(thompsonRuns)}`);
console.log(`mean pulls per operator, UCB1:     ${pulls(ucbRuns)}`);
goal(
  'loop with the bandit (Thompson), evaluations / e·n·ln n',
  mean(thompsonRuns.map((r) => r.evaluations)) / enlnn,
  1.2,
  '×',
);
goal('loop with standard mutation only, evaluations / e·n·ln n', mean(rows[1]?.[1] ?? []) / enlnn, 1.2, '×');
