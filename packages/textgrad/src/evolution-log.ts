import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
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
  error: z.string().optional(),
});

/** What a candidate's sidecar file keeps besides the log line: its text and its evaluator feedback. */
export interface StoredCandidate {
  source: string;
  feedback?: string;
}

/**
 * The JSONL evolution log and its sidecar folder of candidate texts (`<log>.candidates/<id>.json`). Each line is
 * written with a single `write` on a descriptor opened with O_APPEND, after the candidate's text was stored (write to a
 * temporary name, then rename), so a `kill -9` at any moment leaves whole lines that all have their text.
 */
export class EvolutionLog {
  private fd: number | undefined;
  readonly candidatesDir: string;

  constructor(readonly path: string) {
    this.candidatesDir = `${path}.candidates`;
  }

  /**
   * Read the complete lines of an existing log. A torn last line (no final newline) is cut off the file so that
   * appending continues on a clean line; any other unreadable line is an error naming the file and line.
   */
  readAndRepair(): LogLine[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new EvolutionError({
        code: 'FILE_INVALID',
        message: `cannot read the evolution log ${this.path}: ${(error as Error).message}`,
        cause: error,
      });
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      const fd = openSync(this.path, 'r+');
      try {
        ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
      } finally {
        closeSync(fd);
      }
    }
    const lines: LogLine[] = [];
    text
      .slice(0, end)
      .split('\n')
      .forEach((raw, i) => {
        if (raw.trim() === '') return;
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch (error) {
          throw invalidLine(this.path, i + 1, (error as Error).message);
        }
        const parsed = lineSchema.safeParse(json);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw invalidLine(this.path, i + 1, `${issue?.path.join('.') || 'line'}: ${issue?.message}`);
        }
        lines.push(parsed.data as LogLine);
      });
    return lines;
  }

  /** Start a new log, removing a previous one and its candidates. */
  reset(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, '');
    rmSync(this.candidatesDir, { recursive: true, force: true });
  }

  storeCandidate(id: string, candidate: StoredCandidate): void {
    mkdirSync(this.candidatesDir, { recursive: true });
    const target = join(this.candidatesDir, `${id}.json`);
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(candidate));
    renameSync(temp, target);
  }

  loadCandidate(id: string): StoredCandidate {
    const file = join(this.candidatesDir, `${id}.json`);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as StoredCandidate;
    } catch (error) {
      throw new EvolutionError({
        code: 'FILE_INVALID',
        message: `the log ${this.path} names candidate ${id}, but its text ${file} cannot be read: ${(error as Error).message}`,
        fix: 'keep the .candidates folder beside the log, or start a fresh run (resume: false / --no-resume)',
        cause: error,
      });
    }
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
    this.fd = undefined;
  }
}

function invalidLine(path: string, line: number, what: string): EvolutionError {
  return new EvolutionError({
    code: 'FILE_INVALID',
    message: `${path}:${line}: not an evolution log line (${what})`,
    fix: 'point --log at an evolution log, or move the file away to start a fresh run',
  });
}
