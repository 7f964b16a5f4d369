import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeHub } from './fake-hub';

const repo = 'Qwen/Qwen2.5-0.5B-Instruct-GGUF';
const file = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
const sha = createHash('sha256').update(bytes).digest('hex');

let hub: FakeHub;
beforeAll(async () => {
  hub = await FakeHub.start({ files: [{ repo, path: file, bytes }] });
});
afterAll(() => hub.close());
beforeEach(() => hub.reset());

describe('FakeHub', () => {
  it('answers resolve with a 302 to another origin, announcing size, sha256 and commit', async () => {
    const res = await fetch(hub.resolveUrl(repo, file), { redirect: 'manual' });
    await res.body?.cancel();
    expect(res.status).toBe(302);
    const location = res.headers.get('location') ?? '';
    expect(location.startsWith(hub.cdnOrigin)).toBe(true);
    expect(hub.cdnOrigin).not.toBe(hub.origin);
    expect(res.headers.get('x-linked-size')).toBe('200000');
    expect(res.headers.get('x-linked-etag')).toBe(`"${sha}"`);
    expect(res.headers.get('x-repo-commit')).toBe(hub.commit);
    expect(hub.sha256(repo, file)).toBe(sha);
  });

  it('serves the bytes through the redirect, and the rest of them for a Range request', async () => {
    const whole = Buffer.from(await (await fetch(hub.resolveUrl(repo, file))).arrayBuffer());
    expect(whole.equals(bytes)).toBe(true);
    const rest = await fetch(hub.resolveUrl(repo, file, hub.commit), { headers: { range: 'bytes=150000-' } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe('bytes 150000-199999/200000');
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(150_000))).toBe(true);
    expect(hub.requests.map((r) => `${r.server} ${r.range ?? ''}`)).toEqual([
      'hub ',
      'cdn ',
      'hub bytes=150000-',
      'cdn bytes=150000-',
    ]);
  });

  it('answers a range past the end with 416 and the total', async () => {
    const res = await fetch(hub.resolveUrl(repo, file), { headers: { range: 'bytes=200000-' } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe('bytes */200000');
  });

  it('answers 404 RevisionNotFound for an unknown revision, EntryNotFound for an unknown file, 401 for an unknown repo', async () => {
    const revision = await fetch(hub.resolveUrl(repo, file, 'f'.repeat(40)), { redirect: 'manual' });
    expect([revision.status, revision.headers.get('x-error-code')]).toEqual([404, 'RevisionNotFound']);
    const entry = await fetch(hub.resolveUrl(repo, 'other.gguf'), { redirect: 'manual' });
    expect([entry.status, entry.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    const missing = await fetch(hub.resolveUrl('nobody/nothing', file), { redirect: 'manual' });
    expect([missing.status, missing.headers.get('x-error-code')]).toEqual([401, 'RepoNotFound']);
  });

  it('cuts the next transfer after the given bytes, delivering those bytes first', async () => {
    hub.cutAfter(50_000);
    const res = await fetch(hub.resolveUrl(repo, file));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    const error = await (async () => {
      for (;;) {
        const next = await reader.read();
        if (next.done) return undefined;
        received += next.value.length;
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(received).toBe(50_000);
    // The cut applies once: the next transfer is whole.
    expect((await (await fetch(hub.resolveUrl(repo, file))).arrayBuffer()).byteLength).toBe(200_000);
  });

  it('serves bytes that do not match the announced sha256 when tampered with', async () => {
    hub.tamper();
    const res = await fetch(hub.resolveUrl(repo, file));
    const served = Buffer.from(await res.arrayBuffer());
    expect(served.length).toBe(bytes.length);
    expect(createHash('sha256').update(served).digest('hex')).not.toBe(sha);
  });
});
