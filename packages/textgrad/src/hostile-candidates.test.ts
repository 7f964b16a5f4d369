import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatModel } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { baselineSource, evaluatorFolder, reply } from './__tests__/test-helpers';
import { commandEvaluator } from './command-evaluator';
import type { LogLine } from './evolution-log';
import { evolve } from './evolve';
import { rewriteStrategy } from './strategies';

describe('evolve with hostile candidates', () => {
  it('contains an infinite loop, process.exit, a key thief, an outside writer and an evaluator deleter', async () => {
    const { dir, script } = evaluatorFolder();
    const project = mkdtempSync(join(tmpdir(), 'hostile-project-'));
    const victim = join(project, 'important.txt');
    writeFileSync(victim, 'keep me');
    const evalPath = join(dir, 'eval.mjs');
    const hostile = [
      'while (true) {}\nexport const value = 42;',
      'process.exit(0);\nexport const value = 42;',
      'export const value = 30;\nexport const note = "key=" + process.env.EVOLVE_TEST_API_KEY;',
      `import { writeFileSync, rmSync } from 'node:fs';\ntry { writeFileSync(${JSON.stringify(victim)}, 'pwned'); } catch {}\ntry { writeFileSync(${JSON.stringify(join(project, 'new.txt'))}, 'x'); } catch {}\nexport const value = 31;`,
      `import { rmSync } from 'node:fs';\ntry { rmSync(${JSON.stringify(evalPath)}); } catch {}\nrmSync(new URL('./eval.mjs', import.meta.url));\nexport const value = 32;`,
      'export const value = 40;',
    ];
    const coder: ChatModel = {
      chat: async () => reply(`\`\`\`js\n${hostile.shift() ?? 'export const value = 41;'}\n\`\`\``),
    };
    const logFile = join(project, 'evolution.jsonl');
    const result = await evolve({
      baseline: baselineSource,
      fileName: 'candidate.mjs',
      evaluator: commandEvaluator({
        command: 'node eval.mjs',
        files: { 'eval.mjs': script },
        timeoutMs: 2000,
        env: { ...process.env, EVOLVE_TEST_API_KEY: 'sk-live-secret' },
      }),
      coder,
      strategies: [rewriteStrategy],
      generations: 7,
      logFile,
    });
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    expect(lines).toHaveLength(8);
    expect(lines[1]).toMatchObject({ score: null });
    expect(lines[1]?.error).toContain('did not finish within its timeout');
    expect(lines[2]).toMatchObject({ score: null });
    expect(lines[2]?.error).toContain('printed nothing');
    expect(lines[3]?.score).toBe(76);
    const texts = readFileSync(join(project, 'evolution.candidates.jsonl'), 'utf8').trim().split('\n');
    const thief = texts.map((t) => JSON.parse(t)).find((t) => t.id === '3-0');
    expect(thief.feedback).toBe('key=undefined');
    expect(readFileSync(logFile, 'utf8')).not.toContain('sk-live-secret');
    expect(lines[5]?.score).toBe(80);
    expect(lines[6]?.score).toBe(96);
    expect(lines[7]?.score).toBe(98);
    expect(result.best.score).toBe(98);
    expect(existsSync(evalPath)).toBe(true);
    expect(readFileSync(evalPath, 'utf8')).toBe(script);
    expect(lines[4]?.score).toBe(78);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(existsSync(join(project, 'new.txt'))).toBe(false);
  });
});
