import { closeSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { ArmStats } from './bandit';
import { EvolutionError } from './errors';

/** One line of the evolution log: one evaluated (or failed) candidate. */
export interface LogLine {
  ts: string;
  generation: number;
  candidate_id: string;
  parent_id: string | null;
  strategy: string;
  /** Null when the candidate failed (no reply, a diff that did not apply, an evaluator error). */
  score: number | null;
  /** Score minus the baseline's; null when failed. */
  delta: number | null;
  best_score: number;
  bandit: Record<string, ArmStats>;
  tokens: number;
  cost_usd: number;
  ms: number;
  /** Each part's score when a combination of evaluators scored it (`combineEvaluators`), e.g. `{eval, judge}`. */
  parts?: Record<string, number>;
  error?: string;
}

const armSchema = z.object({ pulls: z.number(), meanReward: z.number(), successes: z.number() });
const lineSchema = z.object({
  ts: z.string(),
  generation: z.number().int().min(0),
  candidate_id: z.string(),
  parent_id: z.string().nullable(),
  strategy: z.string(),
  score: z.number().nullable(),
  delta: z.number().nullable(),
  best_score: z.number(),
  bandit: z.record(z.string(), armSchema),
  tokens: z.number(),
  cost_usd: z.number(),
  ms: z.number(),
  parts: z.record(z.string(), z.number()).optional(),
  error: z.string().optional(),
});

/** What a candidate's sidecar file keeps besides the log line: its text and its evaluator feedback. */
interface StoredCandidate {
  source: string;
  feedback?: string;
}

/**
 * The JSONL evolution log and its sidecar JSONL of candidate texts (`evolution.jsonl` → `evolution.candidates.jsonl`).
 * Every line of both is written with a single `write` on a descriptor opened with O_APPEND, a candidate's text before
 * its log line, so a `kill -9` at any moment leaves whole log lines that all have their text; a torn last line (the
 * write that was cut) is dropped from the file when the run resumes.
 */
export class EvolutionLog {
  private fd: number | undefined;
  private textsFd: number | undefined;
  private texts: Map<string, StoredCandidate> | undefined;
  readonly candidatesPath: string;

  constructor(readonly path: string) {
    this.candidatesPath = path.replace(/(\.jsonl)?$/, '.candidates.jsonl');
  }

  /**
   * Read the complete lines of an existing log. A torn last line (no final newline) is cut off the file so that
   * appending continues on a clean line; any other unreadable line is an error naming the file and line.
   */
  readAndRepair(): LogLine[] {
    return readJsonLines(this.path, (json, line) => {
      const parsed = lineSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw invalidLine(this.path, line, `${issue?.path.join('.') || 'line'}: ${issue?.message}`);
      }
      return parsed.data as LogLine;
    });
  }

  /** Start a new log, removing a previous one and its candidates. */
  reset(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, '');
    writeFileSync(this.candidatesPath, '');
    this.texts = undefined;
  }

  storeCandidate(id: string, candidate: StoredCandidate): void {
    this.textsFd ??= openSync(this.candidatesPath, 'a');
    writeSync(this.textsFd, `${JSON.stringify({ id, ...candidate })}\n`);
  }

  /** True when some logged candidate (the baseline included) has exactly this text. */
  hasText(source: string): boolean {
    for (const stored of this.loadTexts().values()) if (stored.source === source) return true;
    return false;
  }

  loadCandidate(id: string): StoredCandidate {
    const stored = this.loadTexts().get(id);
    if (!stored) {
      throw new EvolutionError({
        code: 'FILE_INVALID',
        message: `the log ${this.path} names candidate ${id}, but ${this.candidatesPath} has no text for it`,
        fix: 'keep the .candidates.jsonl file beside the log, or start a fresh run (resume: false / --no-resume)',
      });
    }
    return stored;
  }

  private loadTexts(): Map<string, StoredCandidate> {
    if (!this.texts) {
      this.texts = new Map();
      const entries = readJsonLines(this.candidatesPath, (json, line) => {
        const parsed = storedSchema.safeParse(json);
        if (!parsed.success) throw invalidLine(this.candidatesPath, line, 'not a candidate text');
        return parsed.data;
      });
      for (const { id, ...stored } of entries) this.texts.set(id, stored);
    }
    return this.texts;
  }

  append(line: LogLine): void {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a');
    }
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    if (this.textsFd !== undefined) closeSync(this.textsFd);
    this.fd = undefined;
    this.textsFd = undefined;
  }
}

const storedSchema = z.object({ id: z.string(), source: z.string(), feedback: z.string().optional() });

/** Parse a JSONL file whose torn last line (no final newline) is cut off the file; missing file → no lines. */
function readJsonLines<T>(path: string, parse: (json: unknown, line: number) => T): T[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new EvolutionError({
      code: 'FILE_INVALID',
      message: `cannot read ${path}: ${(error as Error).message}`,
      cause: error,
    });
  }
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
  const out: T[] = [];
  text
    .slice(0, end)
    .split('\n')
    .forEach((raw, i) => {
      if (raw.trim() === '') return;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (error) {
        throw invalidLine(path, i + 1, (error as Error).message);
      }
      out.push(parse(json, i + 1));
    });
  return out;
}

function invalidLine(path: string, line: number, what: string): EvolutionError {
  return new EvolutionError({
    code: 'FILE_INVALID',
    message: `${path}:${line}: not an evolution log line (${what})`,
    fix: 'point --log at an evolution log, or move the file away to start a fresh run',
  });
}
