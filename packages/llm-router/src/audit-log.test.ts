import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEntry, AuditLog } from './audit-log';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-audit-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function entry(n: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date(0).toISOString(),
    kind: 'chat',
    ok: true,
    role: 'coding',
    cached: false,
    latencyMs: n,
    attempts: [],
    promptSha256: 'x'.repeat(64),
    answer: 'y'.repeat(5_000 + n),
    ...extra,
  };
}

describe('AuditLog', () => {
  it('writes one valid JSON line per entry, none interleaved, under many concurrent writes', async () => {
    const log = new AuditLog({ path: join(dir, 'deep', 'audit.jsonl') });
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.write(entry(i))));
    const lines = (await readFile(log.path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(200);
    const latencies = lines.map((line) => (JSON.parse(line) as AuditEntry).latencyMs);
    expect(new Set(latencies).size).toBe(200);
  });

  it('never writes a secret, even one quoted inside an error message', async () => {
    const key = 'sk-test-0123456789abcdef';
    const log = new AuditLog({ path: join(dir, 'audit.jsonl'), secrets: [key] });
    await log.write(
      entry(1, { ok: false, error: { code: 'AUTH_FAILED', message: `Incorrect API key provided: ${key}` } }),
    );
    const text = await readFile(log.path, 'utf8');
    expect(text).not.toContain(key);
    expect(JSON.parse(text).error.message).toBe('Incorrect API key provided: [redacted]');
  });

  it('rejects a write that fails and does not block the entries queued after it', async () => {
    const log = new AuditLog({ path: dir });
    const first = log.write(entry(1));
    const second = log.write(entry(2));
    await expect(first).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(second).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(log.flush()).resolves.toBeUndefined();
  });
});
