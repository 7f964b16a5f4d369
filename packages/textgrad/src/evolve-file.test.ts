import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineSource, scriptedCoder } from './__tests__/test-helpers';
import { EvolutionError } from './errors';
import { functionEvaluator } from './evaluator';
import { evaluatorFiles, evolutionRunId, evolveFile } from './evolve-file';

const distance = functionEvaluator('distance', (source) => ({
  score: Math.max(0, 100 - Math.abs(Number(/value = (-?\d+)/.exec(source)?.[1]) - 42) * 2),
}));
const flat = functionEvaluator('flat', () => ({ score: 50 }));

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'textgrad-file-'));
  writeFileSync(join(dir, 'target.mjs'), baselineSource);
  return dir;
}

const options = (dir: string, log: string) => ({
  evaluator: distance,
  coder: scriptedCoder(),
  generations: 3,
  seed: 3,
  logFile: join(dir, log),
});

describe('evolveFile', () => {
  it('writes the best variant over the file and keeps the original as <file>.orig', async () => {
    const dir = folder();
    const file = join(dir, 'target.mjs');
    const { result, written, writeError } = await evolveFile(file, options(dir, 'a.jsonl'));
    expect(result.best.score).toBeGreaterThan(result.baseline.score);
    expect(written).toEqual({ to: file, backup: `${file}.orig` });
    expect(writeError).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(result.best.source);
    expect(readFileSync(`${file}.orig`, 'utf8')).toBe(baselineSource);
  });

  it('keeps an older backup when run again on the evolved file', async () => {
    const dir = folder();
    const file = join(dir, 'target.mjs');
    writeFileSync(`${file}.orig`, 'the first original\n');
    await evolveFile(file, options(dir, 'b.jsonl'));
    expect(readFileSync(`${file}.orig`, 'utf8')).toBe('the first original\n');
  });

  it('writes to out instead, leaving the file alone, and writes nothing when no variant beat the baseline', async () => {
    const dir = folder();
    const file = join(dir, 'target.mjs');
    const out = join(dir, 'best.mjs');
    const { written, result } = await evolveFile(file, { ...options(dir, 'c.jsonl'), out });
    expect(written).toEqual({ to: out });
    expect(readFileSync(out, 'utf8')).toBe(result.best.source);
    expect(readFileSync(file, 'utf8')).toBe(baselineSource);
    const unbeaten = await evolveFile(file, { ...options(dir, 'd.jsonl'), evaluator: flat });
    expect(unbeaten.written).toEqual({});
    expect(readFileSync(file, 'utf8')).toBe(baselineSource);
  });

  it('returns WRITE_FAILED with the run’s result when out cannot be written, naming where the variant is kept', async () => {
    const dir = folder();
    const { result, writeError } = await evolveFile(join(dir, 'target.mjs'), {
      ...options(dir, 'e.jsonl'),
      out: join(dir, 'missing', 'best.mjs'),
    });
    expect(result.best.score).toBeGreaterThan(result.baseline.score);
    expect(writeError?.code).toBe('WRITE_FAILED');
    expect(writeError?.message).toContain('ENOENT');
    expect(writeError?.fix).toContain(`it is saved in ${join(dir, 'e.candidates.jsonl')}`);
    expect(writeError?.fix).toContain(`"id" is "${result.best.id}"`);
  });

  it('returns ALL_CANDIDATES_FAILED naming the most common error when every candidate failed', async () => {
    const dir = folder();
    const down = { chat: () => Promise.reject(new Error('connection refused')) };
    const { allFailed, written } = await evolveFile(join(dir, 'target.mjs'), {
      ...options(dir, 'f.jsonl'),
      coder: down,
      generations: 2,
    });
    expect(written).toEqual({});
    expect(allFailed?.code).toBe('ALL_CANDIDATES_FAILED');
    expect(allFailed?.message).toMatch(
      /every candidate of this run failed \(2\); the most common error \(2×\):\n {2}.*connection refused/,
    );
    expect(allFailed?.fix).toContain(join(dir, 'f.jsonl'));
    const fine = await evolveFile(join(dir, 'target.mjs'), options(dir, 'g.jsonl'));
    expect(fine.allFailed).toBeUndefined();
  });

  it('refuses a file that does not exist with FILE_NOT_FOUND', async () => {
    const error = await evolveFile('no-such-file.mjs', { evaluator: distance, coder: scriptedCoder() }).catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toContain('no-such-file.mjs: no such file');
  });
});

describe('evaluatorFiles', () => {
  it('takes the existing relative files its command names, skipping flags, absolute and parent paths', () => {
    const dir = folder();
    writeFileSync(join(dir, 'eval.mjs'), 'score');
    mkdirSync(join(dir, 'sub'));
    expect(evaluatorFiles('node --flag eval.mjs /etc/hosts ../x sub "missing.mjs"', { cwd: dir })).toEqual({
      'eval.mjs': 'score',
    });
  });

  it('refuses an explicit file that is missing or outside the folder, naming the option', () => {
    const dir = folder();
    expect(() => evaluatorFiles('x', { explicit: ['nope.txt'], cwd: dir, where: '--eval-files' })).toThrow(
      '--eval-files: nope.txt: no such file',
    );
    expect(() => evaluatorFiles('x', { explicit: ['../up.txt'], cwd: dir })).toThrow(
      'files: "../up.txt" must be a relative path inside the current folder',
    );
  });
});

describe('evolutionRunId', () => {
  it('is the same for the same log and seed, and differs for another seed', () => {
    expect(evolutionRunId('logs/a.jsonl', 1)).toBe(evolutionRunId('logs/a.jsonl', 1));
    expect(evolutionRunId('logs/a.jsonl', 1)).not.toBe(evolutionRunId('logs/a.jsonl', 2));
    expect(evolutionRunId('logs/a.jsonl', 1)).toMatch(/^[0-9a-f]{16}$/);
  });
});
