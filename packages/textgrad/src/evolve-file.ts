import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { EvolutionError } from './errors';
import { EvolutionLog } from './evolution-log';
import { type EvolutionEvent, type EvolutionResult, type EvolveOptions, evolve } from './evolve';

export interface EvolveFileOptions extends Omit<EvolveOptions, 'baseline' | 'fileName'> {
  /** Write the best variant here instead of over the file (whose original is then kept as `<file>.orig`). */
  out?: string;
}

/** Where the best variant went: nowhere when none beat the baseline. Paths as the caller gave them. */
export interface WrittenVariant {
  to?: string;
  backup?: string;
}

export interface EvolveFileResult {
  result: EvolutionResult;
  written: WrittenVariant;
  /** `WRITE_FAILED` when the best variant could not be written; the run's result is still returned. */
  writeError?: EvolutionError;
  /**
   * `ALL_CANDIDATES_FAILED` when every candidate this process proposed failed (nothing was learnt; the cause is
   * usually one, such as a coder that never answered): names the most common error and the log.
   */
  allFailed?: EvolutionError;
}

/**
 * Evolve a file in place: its text is the baseline, its name tells the models and evaluators the language, and the
 * best variant is written over it (the original kept as `<file>.orig`, an older backup never overwritten) or to
 * `out`. A write that fails does not lose the run: the result comes back with `writeError`, whose fix says where
 * the variant is kept (the log's candidates file). Relative paths are resolved against the current folder.
 */
export async function evolveFile(file: string, options: EvolveFileOptions): Promise<EvolveFileResult> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new EvolutionError({
      code: 'FILE_NOT_FOUND',
      message: `${file}: no such file`,
      fix: 'give the path of the file to evolve',
    });
  }
  const { out, onEvent, ...rest } = options;
  const failures = new FailureTally();
  const result = await evolve({
    ...rest,
    baseline: readFileSync(path, 'utf8'),
    fileName: basename(path),
    onEvent: (event) => {
      failures.observe(event);
      onEvent?.(event);
    },
  });
  const allFailed = result.stopReason === 'aborted' ? undefined : failures.error(options.logFile);
  try {
    return { result, written: writeBestVariant(file, out, result), ...(allFailed ? { allFailed } : {}) };
  } catch (error) {
    const writeError = writeFailed(error as Error, out ?? file, options.logFile, result);
    return { result, written: {}, writeError, ...(allFailed ? { allFailed } : {}) };
  }
}

/** The candidates of this process's part of a run (the baseline aside), and the errors of the failed ones. */
class FailureTally {
  private candidates = 0;
  private readonly errors = new Map<string, number>();

  observe(event: EvolutionEvent): void {
    if (event.type !== 'candidate' || event.line.candidate_id === 'baseline') return;
    this.candidates += 1;
    // The same cause under different strategies is one cause: drop the `<strategy>: ` the loop puts first.
    const error = event.line.error?.replace(`${event.line.strategy}: `, '').trim();
    if (error) this.errors.set(error, (this.errors.get(error) ?? 0) + 1);
  }

  /** `ALL_CANDIDATES_FAILED` with the most common error, when there were candidates and every one failed. */
  error(log: string | undefined): EvolutionError | undefined {
    let failed = 0;
    for (const count of this.errors.values()) failed += count;
    if (this.candidates === 0 || failed !== this.candidates) return undefined;
    const [error, count] = [...this.errors].sort((a, b) => b[1] - a[1])[0] as [string, number];
    return new EvolutionError({
      code: 'ALL_CANDIDATES_FAILED',
      message: `every candidate of this run failed (${this.candidates}); the most common error (${count}×):\n${error.replace(/^/gm, '  ')}`,
      fix: log
        ? `fix that cause (the errors of each candidate are in ${log}), then run again: the log resumes the run`
        : 'fix that cause, then run again',
    });
  }
}

function writeBestVariant(file: string, out: string | undefined, result: EvolutionResult): WrittenVariant {
  if (result.best.id === result.baseline.id) return {};
  if (out) {
    writeFileSync(resolve(out), result.best.source);
    return { to: out };
  }
  const path = resolve(file);
  // An existing backup is the older original (from an earlier run): keep it.
  if (!existsSync(`${path}.orig`)) copyFileSync(path, `${path}.orig`);
  writeFileSync(path, result.best.source);
  return { to: file, backup: `${file}.orig` };
}

function writeFailed(error: Error, target: string, log: string | undefined, result: EvolutionResult): EvolutionError {
  const where = log
    ? `it is saved in ${new EvolutionLog(log).candidatesPath}: the "source" of the line whose "id" is "${result.best.id}"; copy it from there, or create`
    : 'create';
  const rerun = log ? `rerun the same command, which resumes from ${log}` : 'run again';
  return new EvolutionError({
    code: 'WRITE_FAILED',
    message: `could not write the best variant (candidate ${result.best.id}, score ${result.best.score.toFixed(2)}) to ${target}: ${error.message}`,
    fix: `${where} the folder (or fix its permissions, or choose another output path) and ${rerun}`,
    cause: error,
  });
}

/**
 * The files an evaluator command needs beside the candidate: those given (`explicit`, relative paths that must
 * exist), or else every token of the command that names an existing relative file (`node eval.mjs` → eval.mjs).
 * `where` names the option in errors (default `files`).
 */
export function evaluatorFiles(
  command: string,
  options: { explicit?: readonly string[]; cwd?: string; where?: string } = {},
): Record<string, string> {
  const { explicit, where = 'files' } = options;
  const candidates = explicit ?? command.split(/\s+/).map((t) => t.replace(/^['"]|['"]$/g, ''));
  const files: Record<string, string> = {};
  for (const name of candidates) {
    if (name === '' || isAbsolute(name) || name.startsWith('-') || name.startsWith('..')) {
      if (explicit) {
        throw new EvolutionError({
          code: 'INVALID_OPTIONS',
          message: `${where}: "${name}" must be a relative path inside the current folder`,
        });
      }
      continue;
    }
    const full = resolve(options.cwd ?? '.', name);
    if (existsSync(full) && statSync(full).isFile()) files[name] = readFileSync(full, 'utf8');
    else if (explicit) {
      throw new EvolutionError({ code: 'FILE_NOT_FOUND', message: `${where}: ${name}: no such file` });
    }
  }
  return files;
}

/**
 * The id of a run's remote jobs (`createRemoteEvaluator`'s `runId`): the same for the same log and seed, so a resumed
 * run finds the evaluations its predecessor's workers finished.
 */
export function evolutionRunId(logFile: string, seed: number): string {
  return createHash('sha256')
    .update(`${resolve(logFile)}\n${seed}`)
    .digest('hex')
    .slice(0, 16);
}
