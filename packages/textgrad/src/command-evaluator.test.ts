import { describe, expect, it } from 'vitest';
import { commandEvaluator } from './command-evaluator';
import { EvolutionError } from './errors';

const context = { candidateId: 'c1', fileName: 'cand.txt' };

async function failure(command: string, timeoutMs?: number) {
  const error = await commandEvaluator({ command, ...(timeoutMs ? { timeoutMs } : {}) })
    .evaluate('x', context)
    .catch((e) => e);
  expect(EvolutionError.isInstance(error)).toBe(true);
  return error as EvolutionError;
}

describe('commandEvaluator', () => {
  it('appends the candidate path as the last argument and reads a plain score from the last stdout line', async () => {
    const evaluator = commandEvaluator({ command: 'echo noise; echo "$(basename "$1")" >&2; echo 73.5 #' });
    expect(await evaluator.evaluate('x', context)).toEqual({ score: 73.5 });
  });

  it('reads {score, feedback} JSON from the last line, with the candidate readable at the path', async () => {
    const evaluator = commandEvaluator({
      command: `node -e 'const s=require("fs").readFileSync(process.argv[1],"utf8");console.log(JSON.stringify({score:s.length,feedback:"len "+s.length}))'`,
      env: { PATH: process.env.PATH },
    });
    expect(await evaluator.evaluate('hello', context)).toEqual({ score: 5, feedback: 'len 5' });
  });

  it('reads a score printed in colour (FORCE_COLOR)', async () => {
    const evaluator = commandEvaluator({ command: `printf '\\033[33m62.5\\033[39m\\n' #` });
    expect(await evaluator.evaluate('x', context)).toEqual({ score: 62.5 });
  });

  it('fails a candidate whose evaluator prints nothing, naming the exit code and stderr', async () => {
    const error = await failure('echo boom >&2; exit 3 #');
    expect(error.code).toBe('EVALUATION_FAILED');
    expect(error.message).toContain('printed nothing on stdout (exit code 3)');
    expect(error.message).toContain('boom');
  });

  it('fails on malformed JSON in the last line', async () => {
    const error = await failure(`echo '{"score": 5,' #`);
    expect(error.message).toContain('malformed JSON');
  });

  it('fails on a score outside 0–100, naming the field', async () => {
    expect((await failure(`echo '{"score": 150}' #`)).message).toContain('score');
    expect((await failure('echo 101 #')).message).toContain('not a score 0–100');
    expect((await failure('echo hello #')).message).toContain('"hello"');
  });

  it('fails with EVALUATION_TIMEOUT naming the setting when the evaluator hangs', async () => {
    const error = await failure('sleep 30 #', 300);
    expect(error.code).toBe('EVALUATION_TIMEOUT');
    expect(error.message).toContain('timeoutMs');
  });

  it('rejects an empty command', () => {
    expect(() => commandEvaluator({ command: ' ' })).toThrow('command must be a non-empty string');
  });
});
