import { describe, expect, it } from 'vitest';
import { commandEvaluator, parseScoreOutput } from './command-evaluator';
import { EvolutionError } from './errors';
import type { SandboxResult } from './sandbox';

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
    expect(error.fix).toContain('timeoutMs');
  });

  it('rejects an empty command', () => {
    expect(() => commandEvaluator({ command: ' ' })).toThrow('command must be a non-empty string');
  });
});

describe('parseScoreOutput', () => {
  const finished = (stdout: string, more: Partial<SandboxResult> = {}): SandboxResult => ({
    exitCode: 0,
    exitSignal: null,
    stdout,
    stderr: '',
    timedOut: false,
    truncated: false,
    ...more,
  });
  const failed = (result: SandboxResult) => {
    try {
      parseScoreOutput(result, 'node eval.mjs');
    } catch (error) {
      if (EvolutionError.isInstance(error)) return error;
      throw error;
    }
    throw new Error('parseScoreOutput accepted the output');
  };

  it('reads the last non-empty stdout line as a number 0–100, ignoring earlier lines and trailing blanks', () => {
    expect(parseScoreOutput(finished('12\nprogress…\n 0 \n\n  \n'), 'c')).toEqual({ score: 0 });
    expect(parseScoreOutput(finished('100'), 'c')).toEqual({ score: 100 });
  });

  it('reads {score, feedback} JSON, leaving out feedback when absent or empty', () => {
    expect(parseScoreOutput(finished('{"score": 55.5, "feedback": "too slow"}\n'), 'c')).toEqual({
      score: 55.5,
      feedback: 'too slow',
    });
    expect(parseScoreOutput(finished('{"score": 7}'), 'c')).toEqual({ score: 7 });
    expect(parseScoreOutput(finished('{"score": 7, "feedback": ""}'), 'c')).toEqual({ score: 7 });
  });

  it('rejects scores outside 0–100 and values that are not numbers, quoting the line', () => {
    for (const line of ['-1', '100.5', 'NaN', 'Infinity', '42 points', '0x10 #']) {
      const error = failed(finished(`${line}\n`));
      expect(error.code).toBe('EVALUATION_FAILED');
      expect(error.message).toContain(`ended with "${line}", not a score 0–100`);
    }
  });

  it('rejects JSON with a bad field, naming the field, and malformed JSON', () => {
    expect(failed(finished('{"score": "high"}')).message).toContain('JSON whose score is invalid');
    expect(failed(finished('{"score": 101}')).message).toContain('JSON whose score is invalid');
    expect(failed(finished('{"score": 5, "feedback": 3}')).message).toContain('JSON whose feedback is invalid');
    expect(failed(finished('{"score": 5')).message).toContain('malformed JSON');
  });

  it('names the exit status, the signal and the stderr tail when there is no score', () => {
    const error = failed(finished('', { exitCode: 2, stderr: 'Traceback: boom\n' }));
    expect(error.message).toContain('"node eval.mjs" printed nothing on stdout (exit code 2); stderr: Traceback: boom');
    expect(error.fix).toContain('last stdout line');
    expect(failed(finished('', { exitCode: null, exitSignal: 'SIGSEGV' })).message).toContain('killed by SIGSEGV');
  });

  it('fails with EVALUATION_TIMEOUT when the process timed out, even after printing a score', () => {
    expect(failed(finished('90\n', { timedOut: true, exitSignal: 'SIGKILL' })).code).toBe('EVALUATION_TIMEOUT');
  });
});
