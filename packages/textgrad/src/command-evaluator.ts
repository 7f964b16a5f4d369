import { z } from 'zod';
import { stripAnsi } from './ansi';
import { EvolutionError } from './errors';
import type { Evaluation, Evaluator, EvaluatorSpec } from './evaluator';
import { runSandboxed, type SandboxOptions, type SandboxResult } from './sandbox';

export interface CommandEvaluatorOptions extends Omit<SandboxOptions, 'timeoutMs' | 'maxOutputBytes'> {
  /** Shell command; the candidate's path is appended as its last argument. */
  command: string;
  /** Files copied into the sandbox beside the candidate (relative path → content). */
  files?: Record<string, string>;
  /** Default 60 000 ms. */
  timeoutMs?: number;
  /** Default 1 MiB per stream. */
  maxOutputBytes?: number;
}

const scoreSchema = z.number().min(0).max(100);
const scoreLine = z.object({ score: scoreSchema, feedback: z.string().optional() });

/**
 * An evaluator that runs a command in the sandbox with the candidate's path as its last argument. The last non-empty
 * line of stdout is the score: a number 0–100, or JSON `{"score": 0–100, "feedback": "…"}`.
 */
export function commandEvaluator(options: CommandEvaluatorOptions): Evaluator {
  return sandboxedEvaluator('command', 'command', options, parseScoreOutput);
}

/**
 * The scaffolding of process-based evaluators: validate the options into a spec, run the spec's command in the
 * sandbox on each candidate, fail on a timeout, and turn the finished process into an evaluation with `read`.
 */
export function sandboxedEvaluator(
  kind: EvaluatorSpec['kind'],
  name: string,
  options: CommandEvaluatorOptions,
  read: (result: SandboxResult, command: string) => Evaluation,
): Evaluator {
  const spec = specOf(kind, options);
  const sandbox = sandboxOptions(options);
  return {
    name,
    spec,
    async evaluate(source, context) {
      const result = await runSandboxed(
        { command: spec.command, files: spec.files, fileName: context.fileName, source, signal: context.signal },
        sandbox,
      );
      failOnTimeout(result, spec.command);
      return read(result, spec.command);
    },
  };
}

/**
 * Read the score from a finished evaluator process: its last non-empty stdout line (ANSI colours removed) is a number
 * 0–100 or JSON `{"score": 0–100, "feedback"?: string}`. Throws EVALUATION_TIMEOUT when it timed out and
 * EVALUATION_FAILED otherwise. Exported for custom evaluators.
 */
export function parseScoreOutput(result: SandboxResult, command: string): Evaluation {
  failOnTimeout(result, command);
  const lines = stripAnsi(result.stdout)
    .split('\n')
    .map((l) => l.trim());
  const last = lines.filter((l) => l !== '').at(-1);
  if (last === undefined) throw noScore(result, command, 'printed nothing on stdout');
  if (last.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(last);
    } catch (error) {
      throw noScore(result, command, `ended with malformed JSON (${(error as Error).message}): ${clip(last, 200)}`);
    }
    const parsed = scoreLine.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw noScore(
        result,
        command,
        `ended with JSON whose ${issue?.path.join('.') || 'value'} is invalid: ${issue?.message}`,
      );
    }
    return { score: parsed.data.score, ...(parsed.data.feedback ? { feedback: parsed.data.feedback } : {}) };
  }
  const score = scoreSchema.safeParse(Number(last));
  if (last === '' || !score.success)
    throw noScore(result, command, `ended with "${clip(last, 200)}", not a score 0–100`);
  return { score: score.data };
}

function failOnTimeout(result: SandboxResult, command: string): void {
  if (result.timedOut) {
    throw new EvolutionError({
      code: 'EVALUATION_TIMEOUT',
      message: `the evaluator "${command}" did not finish within its timeout and was killed`,
      fix: 'raise the evaluator timeout (timeoutMs / --eval-timeout) or make the evaluation faster',
    });
  }
}

function noScore(result: SandboxResult, command: string, what: string): EvolutionError {
  const status = result.exitSignal ? `killed by ${result.exitSignal}` : `exit code ${result.exitCode}`;
  const stderr = result.stderr.trim();
  return new EvolutionError({
    code: 'EVALUATION_FAILED',
    message: `the evaluator "${command}" ${what} (${status})${stderr ? `; stderr: ${clip(stderr, 500, true)}` : ''}`,
    fix: 'make the evaluator print the score (0–100) or {"score": …, "feedback": …} as its last stdout line',
  });
}

function specOf(kind: EvaluatorSpec['kind'], options: CommandEvaluatorOptions): EvaluatorSpec {
  if (typeof options.command !== 'string' || options.command.trim() === '') {
    throw new EvolutionError({
      code: 'INVALID_OPTIONS',
      message: `${kind} evaluator: command must be a non-empty string`,
      fix: 'pass the command that scores a candidate, e.g. "node eval.mjs"',
    });
  }
  return {
    kind,
    command: options.command,
    ...(options.files ? { files: options.files } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
  };
}

function sandboxOptions(options: CommandEvaluatorOptions): SandboxOptions {
  const { command: _command, files: _files, ...sandbox } = options;
  return sandbox;
}

export function clip(text: string, max: number, tail = false): string {
  if (text.length <= max) return text;
  return tail ? `…${text.slice(text.length - max)}` : `${text.slice(0, max)}…`;
}
