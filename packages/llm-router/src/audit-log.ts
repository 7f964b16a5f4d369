import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ChatMessage, canonicalJson, Redactor, sha256Hex, type Usage } from '@unity/core';
import type { RouterError } from './errors';
import type { RunRecord } from './request-run';
import type { RouterResponse } from './router-types';

/** One line of the audit trail: one router call, however many attempts it took. */
export interface AuditEntry {
  /** When the call started (ISO 8601). */
  time: string;
  kind: 'chat' | 'stream';
  ok: boolean;
  role: string;
  /** Who answered (absent when nothing did). */
  provider?: string;
  model?: string;
  cached: boolean;
  latencyMs: number;
  usage?: Usage;
  finishReason?: string;
  /** Why the call failed, when it did. */
  error?: { code: string; message: string };
  attempts: { provider: string; model: string; ok: boolean; code?: string; ms: number; skipped?: boolean }[];
  /** sha256 of the canonical JSON of the messages (and tools) sent. */
  promptSha256: string;
  /** sha256 of the answer's text and tool calls. */
  answerSha256?: string;
  /** Only with `includeText`. */
  prompt?: ChatMessage[];
  answer?: string;
}

export interface AuditLogOptions {
  /** The JSONL file; its folder is created on the first write. */
  path: string;
  /**
   * Values that must never reach the file (API keys, URL passwords): each occurrence, in any encoding, is replaced by
   * `[redacted]`, even inside an
   * upstream's error message that quotes the key back.
   */
  secrets?: readonly string[];
  /** Redacts with this instead of one built from `secrets` (the router passes its own). */
  redactor?: Redactor;
}

/**
 * An append-only JSONL audit trail. Each entry is one line written with a single append, and appends are queued so
 * that concurrent calls never interleave within the file.
 */
export class AuditLog {
  private tail: Promise<void> = Promise.resolve();
  private folderReady: Promise<unknown> | undefined;
  private readonly redactor: Redactor;

  constructor(private readonly options: AuditLogOptions) {
    this.redactor = options.redactor ?? new Redactor(options.secrets);
  }

  get path(): string {
    return this.options.path;
  }

  /** Queue one entry; resolves when it is on disk, rejects when the write failed (later entries still go ahead). */
  write(entry: AuditEntry): Promise<void> {
    const line = `${this.redactor.text(JSON.stringify(entry))}\n`;
    const written = this.tail.then(async () => {
      this.folderReady ??= mkdir(dirname(this.options.path), { recursive: true });
      await this.folderReady;
      await appendFile(this.options.path, line, { encoding: 'utf8', flag: 'a' });
    });
    this.tail = written.catch(() => undefined);
    return written;
  }

  /** Resolves when every queued entry has been written (or failed). */
  flush(): Promise<void> {
    return this.tail;
  }
}

/** The audit line of one router call: who answered, every attempt, the prompt's and answer's sha256 (and text). */
export function auditEntry(
  run: RunRecord,
  response: RouterResponse | undefined,
  error: RouterError | undefined,
  includeText: boolean,
): AuditEntry {
  const { request } = run;
  const answer = response ? canonicalJson({ content: response.content, toolCalls: response.toolCalls }) : undefined;
  return {
    time: new Date(run.startedAt).toISOString(),
    kind: run.kind,
    ok: response !== undefined,
    role: run.role,
    ...(response ? { provider: response.provider, model: response.model } : {}),
    cached: response?.cached === true,
    latencyMs: Math.round(run.ms * 1000) / 1000,
    ...(response ? { usage: response.usage, finishReason: response.finishReason } : {}),
    ...(error ? { error: { code: error.code, message: error.message } } : {}),
    attempts: run.attempts.map((a) => ({
      provider: a.provider,
      model: a.model,
      ok: a.ok,
      ...(a.error ? { code: a.error.code } : {}),
      ms: Math.round(a.ms * 1000) / 1000,
      ...(a.skipped ? { skipped: true } : {}),
    })),
    promptSha256: sha256Hex(canonicalJson({ messages: request.messages, tools: request.tools })),
    ...(answer ? { answerSha256: sha256Hex(answer) } : {}),
    ...(includeText ? { prompt: request.messages, ...(response ? { answer: response.content } : {}) } : {}),
  };
}
