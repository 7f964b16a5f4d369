import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHub, sharedModelPath } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildGguf } from '../__tests__/gguf-fixture';
import { defaultModel, defaultModelPin } from './default-model';
import { ModelStoreError } from './model-store-error';
import { pullModel } from './pull';

// Pulls from a fake Hugging Face hub over real HTTP: resolve → 302 to a CDN on another origin → bytes.
const sharedModel = sharedModelPath();
const bytes = sharedModel
  ? readFileSync(sharedModel)
  : // A GGUF header (117 bytes) padded to the shared model's size: the tests cut, resume and stall at byte offsets.
    Buffer.concat([
      buildGguf({ metadata: { 'general.architecture': 'llama' }, tensors: [[64, 4096]] }),
      Buffer.alloc(1_185_259, 7),
    ]);
const sha = createHash('sha256').update(bytes).digest('hex');
const repo = 'someone/tiny-GGUF';
const file = 'tiny-q8_0.gguf';
const { repo: defaultRepo, file: defaultFile } = defaultModelPin;

let hub: FakeHub;
let dir: string;
beforeAll(async () => {
  hub = await FakeHub.start({
    files: [
      { repo, path: file, bytes },
      { repo: defaultRepo, path: defaultFile, bytes },
    ],
  });
});
afterAll(() => hub.close());
beforeEach(async () => {
  hub.reset();
  dir = await mkdtemp(join(tmpdir(), 'unity-hub-pull-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<ModelStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ModelStoreError.isInstance(error)) throw new Error(`expected a ModelStoreError, got ${String(error)}`);
  return error;
}

describe('pullModel from a Hugging Face hub', () => {
  it('follows the redirect to the CDN, checks the bytes against the hub’s sha256 and reports the commit', async () => {
    const result = await pullModel(hub.resolveUrl(repo, file), { dir });
    expect(result).toMatchObject({ name: 'tiny-q8_0', bytes: bytes.length, sha256: sha, verifiedBy: 'hub' });
    expect(result.commit).toBe(hub.commit);
    expect(readFileSync(join(dir, file)).equals(bytes)).toBe(true);
    expect(hub.requests.map((r) => r.server)).toEqual(['hub', 'cdn']);
  });

  it('sends an authorization header to the hub but not to the CDN on another origin', async () => {
    await pullModel(hub.resolveUrl(repo, file), { dir, headers: { authorization: 'Bearer hf_secret' } });
    const [toHub, toCdn] = hub.requests;
    expect(toHub).toMatchObject({ server: 'hub', authorization: 'Bearer hf_secret' });
    expect(toCdn).toMatchObject({ server: 'cdn', authorization: undefined });
  });

  it('gives the hub’s size as the total to progress events', async () => {
    const totals = new Set<number | undefined>();
    await pullModel(hub.resolveUrl(repo, file), { dir, onProgress: (p) => totals.add(p.totalBytes) });
    expect([...totals]).toEqual([bytes.length]);
  });

  it('resumes a transfer cut in the middle with a Range request through the redirect', async () => {
    hub.cutAfter(Math.floor(bytes.length / 2));
    const cut = await failure(pullModel(hub.resolveUrl(repo, file, hub.commit), { dir }));
    expect(cut.code).toBe('DOWNLOAD_FAILED');
    const kept = (await stat(join(dir, `${file}.part`))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(bytes.length);
    expect(cut.fix).toContain(`${kept} of ${bytes.length} bytes are kept`);

    hub.reset();
    const result = await pullModel(hub.resolveUrl(repo, file, hub.commit), { dir });
    expect(result).toMatchObject({ resumed: true, sha256: sha, verifiedBy: 'hub' });
    expect(hub.requests.map((r) => `${r.server} ${r.range}`)).toEqual([`hub bytes=${kept}-`, `cdn bytes=${kept}-`]);
    expect(readFileSync(join(dir, file)).equals(bytes)).toBe(true);
  });

  it('rejects bytes that differ from the hub’s sha256 and keeps neither the model nor the .part', async () => {
    hub.tamper();
    const error = await failure(pullModel(hub.resolveUrl(repo, file), { dir }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(`not the sha256 the hub published for it (X-Linked-Etag), ${sha}`);
    expect(error.message).toContain('nothing was added to the store');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses before downloading when the hub’s sha256 is not the one expected', async () => {
    const other = 'ab'.repeat(32);
    const error = await failure(pullModel(hub.resolveUrl(repo, file), { dir, sha256: other }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(`the hub publishes sha256 ${sha}`);
    expect(error.message).toContain(`not the expected ${other}; nothing was downloaded`);
    expect(error.fix).toContain('pin the revision');
    expect(hub.requests.filter((r) => r.server === 'cdn')).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a revision the repository does not have as a 404 RevisionNotFound, with the fix', async () => {
    const url = hub.resolveUrl(repo, file, '0'.repeat(40));
    const error = await failure(pullModel(url, { dir }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toBe(
      `download of ${url} failed: HTTP 404 Not Found (RevisionNotFound: Invalid rev id: ${'0'.repeat(40)})`,
    );
    expect(error.fix).toContain('the revision (branch, tag or commit sha) does not exist');
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a file the repository does not have as EntryNotFound, and an unknown repository as RepoNotFound', async () => {
    const entry = await failure(pullModel(hub.resolveUrl(repo, 'other.gguf'), { dir }));
    expect(entry.message).toContain('HTTP 404 Not Found (EntryNotFound');
    expect(entry.fix).toContain('no such file at that revision');
    const missing = await failure(pullModel(hub.resolveUrl('nobody/nothing-GGUF', file), { dir }));
    expect(missing.message).toContain('HTTP 401 Unauthorized (RepoNotFound');
    expect(missing.fix).toContain('check owner/name');
  });
});

describe('defaultModel', () => {
  it('is the pinned file from the hub, pulled through HF_ENDPOINT when set', async () => {
    const model = defaultModel({ env: { HF_ENDPOINT: `${hub.origin}/` } });
    expect(model).toMatchObject({ name: 'qwen2.5-0.5b-instruct-q4_k_m', overridden: false });
    expect(model.source).toBe(hub.resolveUrl(defaultRepo, defaultFile, 'main'));
    const result = await pullModel(model.source, { dir });
    expect(result).toMatchObject({ name: model.name, sha256: sha, verifiedBy: 'hub', commit: hub.commit });
  });

  it('is https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/… without an environment', () => {
    expect(defaultModel()).toEqual({
      source: 'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      name: 'qwen2.5-0.5b-instruct-q4_k_m',
      approxBytes: 491_000_000,
      overridden: false,
    });
  });

  it('is UNITY_DEFAULT_MODEL when set: a URL or a local file, named after its file', () => {
    const url = hub.resolveUrl(repo, file);
    expect(defaultModel({ env: { UNITY_DEFAULT_MODEL: url } })).toEqual({
      source: url,
      name: 'tiny-q8_0',
      overridden: true,
    });
    if (sharedModel) {
      expect(defaultModel({ env: { UNITY_DEFAULT_MODEL: sharedModel } })).toMatchObject({ name: 'stories260K' });
    }
  });

  it('is llamacpp.default_model when the config sets it (the settings layer fills it from UNITY_DEFAULT_MODEL)', async () => {
    const url = hub.resolveUrl(repo, file);
    const configured = defaultModel({ configured: url, env: { UNITY_DEFAULT_MODEL: 'https://elsewhere/x.gguf' } });
    expect(configured).toMatchObject({ source: url, name: 'tiny-q8_0', overridden: true });
    const { loadConfig } = await import('../config');
    const { config } = await loadConfig({ env: { UNITY_DEFAULT_MODEL: url }, cwd: tmpdir() });
    expect(config.llamacpp.default_model).toBe(url);
  });

  it('refuses a UNITY_DEFAULT_MODEL that is neither a URL nor an existing file', () => {
    expect(() => defaultModel({ env: { UNITY_DEFAULT_MODEL: '/no/such/model.gguf' } })).toThrow(
      'cannot pull "/no/such/model.gguf": it is neither a URL nor an hf: reference, and no such file exists',
    );
  });
});
