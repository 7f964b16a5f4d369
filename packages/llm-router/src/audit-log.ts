import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ChatMessage, Redactor, type Usage } from '@unity/core';

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
