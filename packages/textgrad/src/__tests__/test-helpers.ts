// Test support (not exported): a scripted coder whose replies follow from each request's seed, and a real evaluator
// script on disk. The coder stands in for an LLM only while a cassette is recorded; the tests then replay it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatModel, ChatRequest, ChatResponse } from '@unity/core';
import { createRandom, randomInt } from '../random';

const usage = { inputTokens: 100, outputTokens: 20, totalTokens: 120 };

export function reply(content: string): ChatResponse {
  return { content, toolCalls: [], usage: { ...usage }, finishReason: 'stop', model: 'scripted' };
}

/** The baseline of the test task: the evaluator rewards `value` close to 42. */
export const baselineSource = 'export const value = 10;\n';

/**
 * A coder for the "value close to 42" task: moves the parent's value by a seeded random step (which may make it
 * worse), answers critiques in prose, SEARCH/REPLACE requests with a block — broken with probability `brokenDiffs`.
 */
export function scriptedCoder(options: { brokenDiffs?: number } = {}): ChatModel & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    requests,
    async chat(request) {
      requests.push(request);
      const system = request.messages[0]?.content ?? '';
      const prompt = request.messages.at(-1)?.content ?? '';
      const random = createRandom(request.seed ?? 0, 'scripted-coder');
      if (system.includes('critic')) return reply('Move value closer to 42.');
      const current = Number(/value = (-?\d+)/.exec(prompt)?.[1] ?? '0');
      const next = current + randomInt(random, 15) - 6;
      if (prompt.includes('<<<<<<< SEARCH')) {
        if (random() < (options.brokenDiffs ?? 0)) {
          return reply('<<<<<<< SEARCH\nexport const valu = 1;\n=======\nexport const value = 42;\n>>>>>>> REPLACE');
        }
        return reply(
          `<<<<<<< SEARCH\nexport const value = ${current};\n=======\nexport const value = ${next};\n>>>>>>> REPLACE`,
        );
      }
      return reply(`Here it is:\n\`\`\`js\nexport const value = ${next};\n\`\`\``);
    },
  };
}

/** A coder that must not be called (replay runs). */
export const noCoder: ChatModel = {
  chat: () => Promise.reject(new Error('the coder was called during a replay')),
};

/** A folder with `eval.mjs`: imports the candidate and prints `{score, feedback}`; `delayMs` slows it down. */
export function evaluatorFolder(options: { delayMs?: number } = {}): { dir: string; script: string } {
  const dir = mkdtempSync(join(tmpdir(), 'textgrad-test-'));
  const script = `import { pathToFileURL } from 'node:url';
const m = await import(pathToFileURL(process.argv.at(-1)).href);
await new Promise((r) => setTimeout(r, ${options.delayMs ?? 0}));
const score = Math.max(0, 100 - Math.abs(Number(m.value) - 42) * 2);
console.log(JSON.stringify({ score: Number.isFinite(score) ? score : 0, feedback: String(m.note ?? 'distance ' + Math.abs(m.value - 42)) }));
`;
  writeFileSync(join(dir, 'eval.mjs'), script);
  return { dir, script };
}
