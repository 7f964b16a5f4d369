// How well the semantic layer tells paraphrases from different questions, measured on the pairs of
// __tests__/paraphrase-pairs.ts with two embedders: the fake Ollama's word-hash vectors (always), and a real model run by
// the embedded engine (../shared/models/stories260K.gguf, or UNITY_TEST_MODEL) when the file is there. Prints a table.
import { FakeOllama, nomicEmbedModel, sharedModelPath } from '@unity/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { differentPairs, paraphrasePairs } from '../__tests__/paraphrase-pairs';
import { parseConfig } from '../config';
import { createEmbedder, type Embedder, type EmbedRequest, type EmbedResponse } from '../embeddings';
import type { RouterRequest, RouterResponse } from '../router-types';
import { RouterCache } from './router-cache';
import { cosine, unitVector } from './vector-index';

const thresholds = [0.8, 0.85, 0.9, 0.95, 0.98] as const;
const context = { role: 'reasoning' as const, localOnly: false };

const request = (content: string): RouterRequest => ({
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content },
  ],
  temperature: 0,
});
const answer = (content: string): RouterResponse => ({
  content,
  toolCalls: [],
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  finishReason: 'stop',
  model: 'm',
  provider: 'p',
  attempts: [],
});

type Embed = (request: EmbedRequest) => Promise<EmbedResponse>;

/** Each text embedded once, whatever the number of thresholds tried. */
function memoized(embed: Embed): Embed & { vector(text: string): Float32Array } {
  const seen = new Map<string, EmbedResponse>();
  const fn = async (request: EmbedRequest) => {
    const text = String(request.input);
    let response = seen.get(text);
    if (!response) {
      response = await embed({ ...request, input: text });
      seen.set(text, response);
    }
    return response;
  };
  return Object.assign(fn, {
    vector: (text: string) => unitVector(seen.get(text)?.embeddings[0] ?? []),
  });
}

/**
 * Store the first question of every pair, then ask the second: a paraphrase's hit is right when it returns its own
 * pair's answer, wrong otherwise; any hit on a different pair is a false hit.
 */
async function run(embed: Embed, threshold: number, pairs: readonly (readonly [string, string])[]) {
  const config = parseConfig(
    stringify({ router: { cache: { enabled: true, max_entries: 1000, semantic: { enabled: true, threshold } } } }),
    'eval.yaml',
  );
  const cache = new RouterCache({ config, embed });
  for (const [i, [first]] of pairs.entries()) {
    const stored = request(first);
    await cache.lookup(stored, context);
    cache.save(stored, context, answer(`answer ${i}`));
  }
  const outcomes: ('right' | 'wrong' | 'miss')[] = [];
  for (const [i, [, second]] of pairs.entries()) {
    const hit = await cache.lookup(request(second), context);
    outcomes.push(hit === undefined ? 'miss' : hit.content === `answer ${i}` ? 'right' : 'wrong');
  }
  await cache.close();
  return outcomes;
}

interface Figures {
  threshold: number;
  /** Paraphrases answered with their own pair's answer, of 40. */
  paraphraseHits: number;
  /** Paraphrases answered with another pair's answer. */
  paraphraseWrong: number;
  /** Different questions answered from the cache (all wrong), of 20; the last 5 differ only in a number. */
  falseHits: number;
}

async function measure(embed: Embed): Promise<{ figures: Figures[]; numberPairHits: number; similarity: string }> {
  const memo = memoized(embed);
  const figures: Figures[] = [];
  let numberPairHits = 0;
  for (const threshold of thresholds) {
    const same = await run(memo, threshold, paraphrasePairs);
    const different = await run(memo, threshold, differentPairs);
    numberPairHits += different.slice(-5).filter((o) => o !== 'miss').length;
    figures.push({
      threshold,
      paraphraseHits: same.filter((o) => o === 'right').length,
      paraphraseWrong: same.filter((o) => o === 'wrong').length,
      falseHits: different.filter((o) => o !== 'miss').length,
    });
  }
  const pairSimilarity = (pairs: readonly (readonly [string, string])[]) =>
    pairs.map(([a, b]) => cosine(memo.vector(a), memo.vector(b))).sort((x, y) => x - y);
  const summary = (values: number[]) =>
    `min ${values[0]?.toFixed(3)} median ${values[Math.floor(values.length / 2)]?.toFixed(3)} max ${values.at(-1)?.toFixed(3)}`;
  const similarity = [
    `paraphrase pairs: ${summary(pairSimilarity(paraphrasePairs))}`,
    `different pairs (no numbers): ${summary(pairSimilarity(differentPairs.slice(0, 15)))}`,
  ].join('; ');
  return { figures, numberPairHits, similarity };
}

function report(name: string, result: Awaited<ReturnType<typeof measure>>): void {
  const lines = result.figures.map(
    (f) =>
      `  threshold ${f.threshold.toFixed(2)}: paraphrases hit ${f.paraphraseHits}/40 (${((f.paraphraseHits / 40) * 100).toFixed(0)}%), ` +
      `wrong answer ${f.paraphraseWrong}; different questions hit ${f.falseHits}/20`,
  );
  console.info(
    `semantic cache on ${paraphrasePairs.length} paraphrase and ${differentPairs.length} different pairs, ${name}:\n${lines.join('\n')}\n  cosine ${result.similarity}`,
  );
}

describe('semantic cache: paraphrases against different questions', () => {
  let ollama: FakeOllama;
  let embedder: Embedder;
  beforeAll(async () => {
    ollama = await FakeOllama.start({ models: [nomicEmbedModel] });
    embedder = createEmbedder({
      config: parseConfig(
        stringify({ models: { embedding: 'ollama/nomic-embed-text' }, ollama: { host: ollama.host } }),
        't.yaml',
      ),
    });
  });
  afterAll(async () => {
    await embedder?.close();
    await ollama?.close();
  });

  it('with the fake word-hash embedder: never serves an answer about other numbers; reports the figures', async () => {
    const result = await measure((r) => embedder.embed(r));
    report('fake word-hash embeddings (FakeOllama nomic-embed-text)', result);
    expect(result.numberPairHits).toBe(0);
    const strict = result.figures.find((f) => f.threshold === 0.98)!;
    const loose = result.figures.find((f) => f.threshold === 0.8)!;
    // A higher threshold never hits more.
    expect(strict.paraphraseHits + strict.falseHits).toBeLessThanOrEqual(loose.paraphraseHits + loose.falseHits);
  });

  const modelPath = sharedModelPath();
  it.skipIf(!modelPath)(
    'with a real model run by the embedded engine (stories260K.gguf): reports the figures',
    async () => {
      const real = createEmbedder({
        config: parseConfig(
          stringify({ models: { embedding: `llamacpp/${modelPath}` }, llamacpp: { threads: 1, context_size: 128 } }),
          't.yaml',
        ),
      });
      try {
        const result = await measure((r) => real.embed(r));
        report(`real embeddings: llamacpp/${modelPath}`, result);
        expect(result.numberPairHits).toBe(0);
      } finally {
        await real.close();
      }
    },
    120_000,
  );
});
