import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, sharedModelPath } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildGguf } from '../__tests__/gguf-fixture';
import { ModelStoreError } from './model-store-error';
import { type PullProgress, pullModel, resolvePullSource } from './pull';

const sharedModel = sharedModelPath();
if (!sharedModel) console.warn('pull tests serve a synthesized GGUF: ../shared/models/stories260K.gguf is absent');
const modelBytes = sharedModel
  ? readFileSync(sharedModel)
  : // A GGUF header (117 bytes) padded to the shared model's size: the tests cut, resume and stall at byte offsets.
    Buffer.concat([
      buildGguf({ metadata: { 'general.architecture': 'llama' }, tensors: [[64, 4096]] }),
      Buffer.alloc(1_185_259, 7),
    ]);
const modelSha = createHash('sha256').update(modelBytes).digest('hex');

/** A file server with Range support and fault switches, recording each request's Range header. */
class ModelServer {
  readonly requests: { path: string; range: string | undefined }[] = [];
  /** Destroy the socket of the next response after this many body bytes. */
  cutAfter: number | undefined;
  /** Send this many bytes of the next response, then go silent (a stalled transfer). */
  stallAfter: number | undefined;
  /** Answer Range requests with the whole file and 200, as servers without Range support do. */
  ignoreRange = false;
  /** Send the next whole-file answer chunked, without Content-Length. */
  chunked = false;
  private readonly server: Server;

  constructor(private readonly files: Record<string, Buffer>) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    this.requests.push({ path, range: req.headers.range });
    const body = this.files[path];
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    let start = 0;
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (match && !this.ignoreRange) {
      start = Number(match[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'accept-ranges': 'bytes',
      });
    } else if (this.chunked) {
      this.chunked = false;
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    }
    const rest = body.subarray(start);
    const { cutAfter, stallAfter } = this;
    this.cutAfter = undefined;
    this.stallAfter = undefined;
    if (cutAfter !== undefined) {
      res.write(rest.subarray(0, cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
    } else if (stallAfter !== undefined) {
      res.write(rest.subarray(0, stallAfter));
    } else {
      res.end(rest);
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let server: ModelServer;
let dir: string;

beforeAll(async () => {
  server = await new ModelServer({
    '/models/stories260K.gguf': modelBytes,
    '/models/readme.gguf': Buffer.from('# Not a model\nJust a markdown file with the wrong name.\n'),
  }).listen();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-pull-'));
  server.requests.length = 0;
  server.ignoreRange = false;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<ModelStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ModelStoreError.isInstance(error)) throw new Error(`expected a ModelStoreError, got ${String(error)}`);
  return error;
}

const modelUrl = () => server.url('/models/stories260K.gguf');

describe('pullModel', () => {
  it('downloads a model into the store, verifies it and leaves no .part file', async () => {
    const progress: PullProgress[] = [];
    const result = await pullModel(modelUrl(), { dir, sha256: modelSha, onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ name: 'stories260K', bytes: modelBytes.length, sha256: modelSha, resumed: false });
    expect(result.path).toBe(join(dir, 'stories260K.gguf'));
    expect(await readdir(dir)).toEqual(['stories260K.gguf']);
    expect(progress.at(-1)).toEqual({
      receivedBytes: modelBytes.length,
      totalBytes: modelBytes.length,
      resumedFromBytes: 0,
    });
  });

  it.skipIf(!sharedModel)('stores the shared model with its published sha256', async () => {
    const result = await pullModel(modelUrl(), { dir });
    expect(result.sha256).toBe('270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d');
  });

  it('keeps the .part file of a transfer cut in the middle, then resumes it with a Range request', async () => {
    const cut = Math.floor(modelBytes.length / 3);
    server.cutAfter = cut;
    const error = await failure(pullModel(modelUrl(), { dir, sha256: modelSha }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toContain('broke off');
    expect(error.fix).toContain('run the same pull again to resume');
    // Every chunk fetch hands over is on disk; chunks fetch still held in its body stream's queue when the connection
    // broke are dropped by fetch (an errored stream discards its queue), so the .part may end short of the cut, more so
    // under load. The resume must start exactly where the .part ends.
    const kept = (await stat(join(dir, 'stories260K.gguf.part'))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);

    const progress: PullProgress[] = [];
    const result = await pullModel(modelUrl(), { dir, sha256: modelSha, onProgress: (p) => progress.push(p) });
    expect(server.requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(result.resumed).toBe(true);
    expect(progress[0]).toMatchObject({ receivedBytes: kept, resumedFromBytes: kept });
    expect(
      createHash('sha256')
        .update(await readFile(result.path))
        .digest('hex'),
    ).toBe(modelSha);
    expect(await readdir(dir)).toEqual(['stories260K.gguf']);
  });

  it('restarts from zero when the server answers a Range request with 200 and the whole file', async () => {
    await writeFile(join(dir, 'stories260K.gguf.part'), modelBytes.subarray(0, 1000));
    server.ignoreRange = true;
    const result = await pullModel(modelUrl(), { dir, sha256: modelSha });
    expect(server.requests[0]?.range).toBe('bytes=1000-');
    expect(result.resumed).toBe(false);
    expect(result.bytes).toBe(modelBytes.length);
  });

  it('finishes a download whose .part already holds every byte (416 with the same total)', async () => {
    await writeFile(join(dir, 'stories260K.gguf.part'), modelBytes);
    const result = await pullModel(modelUrl(), { dir, sha256: modelSha });
    expect(result).toMatchObject({ resumed: true, bytes: modelBytes.length });
    expect(await readdir(dir)).toEqual(['stories260K.gguf']);
  });

  it('rejects a wrong sha256 and leaves nothing in place', async () => {
    const wrong = 'ab'.repeat(32);
    const error = await failure(pullModel(modelUrl(), { dir, sha256: wrong }));
    expect(error.code).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toContain(`has sha256 ${modelSha}, not the expected ${wrong}`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a 404 with the URL and leaves nothing behind', async () => {
    const url = server.url('/models/missing.gguf');
    const error = await failure(pullModel(url, { dir }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toContain(`download of ${url} failed: HTTP 404`);
    expect(error.fix).toContain('the file does not exist there');
    expect(await readdir(dir)).toEqual([]);
  });

  it('deletes a downloaded file that is not GGUF', async () => {
    const error = await failure(pullModel(server.url('/models/readme.gguf'), { dir }));
    expect(error.code).toBe('NOT_GGUF');
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails with TIMEOUT naming stallTimeoutMs when the transfer stalls, keeping what arrived', async () => {
    server.stallAfter = 4096;
    const error = await failure(pullModel(modelUrl(), { dir, stallTimeoutMs: 300 }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('no data for 300 ms (stallTimeoutMs)');
    expect((await stat(join(dir, 'stories260K.gguf.part'))).size).toBe(4096);
  });

  it('stops with ABORTED when the caller aborts, keeping the .part file to resume', async () => {
    server.stallAfter = 2048;
    const controller = new AbortController();
    const pulled = pullModel(modelUrl(), {
      dir,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.receivedBytes >= 2048) controller.abort();
      },
    });
    const error = await failure(pulled);
    expect(error.code).toBe('ABORTED');
    expect(await readdir(dir)).toEqual(['stories260K.gguf.part']);
  });

  it('reports a refused connection as DOWNLOAD_FAILED', async () => {
    const error = await failure(pullModel(`http://127.0.0.1:${await freePort()}/m.gguf`, { dir }));
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(error.message).toMatch(/cannot reach .*ECONNREFUSED/);
  });

  it('refuses to pull a file another running pull holds the lock of', async () => {
    await writeFile(join(dir, 'stories260K.gguf.part.lock'), String(process.pid));
    const error = await failure(pullModel(modelUrl(), { dir }));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(`another pull of stories260K is running (process ${process.pid}`);
    expect(server.requests).toEqual([]);
  });

  it('treats a fresh, still empty lock file as held (its pull has not written its pid yet)', async () => {
    await writeFile(join(dir, 'stories260K.gguf.part.lock'), '');
    expect((await failure(pullModel(modelUrl(), { dir }))).code).toBe('LOCKED');
  });

  it('takes over an empty lock file left long ago', async () => {
    const lock = join(dir, 'stories260K.gguf.part.lock');
    await writeFile(lock, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    await pullModel(modelUrl(), { dir, sha256: modelSha });
    expect(await readdir(dir)).toEqual(['stories260K.gguf']);
  });

  it('takes over the lock of a pull whose process is gone, and removes it when done', async () => {
    const { pid } = spawnSync(process.execPath, ['-e', '']);
    await writeFile(join(dir, 'stories260K.gguf.part.lock'), String(pid));
    await pullModel(modelUrl(), { dir, sha256: modelSha });
    expect(await readdir(dir)).toEqual(['stories260K.gguf']);
  });

  it('downloads a chunked answer that has no Content-Length', async () => {
    server.chunked = true;
    const result = await pullModel(modelUrl(), { dir, sha256: modelSha });
    expect(result).toMatchObject({ bytes: modelBytes.length, sha256: modelSha });
  });

  it('does not download a model the store already holds', async () => {
    await pullModel(modelUrl(), { dir });
    server.requests.length = 0;
    const again = await pullModel(modelUrl(), { dir, sha256: modelSha });
    expect(again.alreadyPresent).toBe(true);
    expect(server.requests).toEqual([]);
  });
});

describe('resolvePullSource', () => {
  it('maps hf:owner/repo/file.gguf to the Hugging Face resolve URL', () => {
    expect(resolvePullSource('hf:ggml-org/models/tinyllamas/stories260K.gguf')).toEqual({
      url: 'https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf',
      fileName: 'stories260K.gguf',
    });
  });

  it('rejects a source that is not a .gguf URL', () => {
    expect(() => resolvePullSource('hf:owner/repo')).toThrow('hf: sources name an owner, a repository and a file');
    expect(() => resolvePullSource('ftp://host/m.gguf')).toThrow('the ftp: protocol is not supported');
    expect(() => resolvePullSource('https://host/model.bin')).toThrow('does not end in .gguf');
    expect(() => resolvePullSource('stories260K')).toThrow('neither a URL nor an hf: reference, and no such file');
  });

  it('takes the path or file: URL of an existing local file', async () => {
    const file = join(dir, 'm.gguf');
    await writeFile(file, modelBytes);
    const expected = { url: pathToFileURL(file).href, fileName: 'm.gguf', localPath: file };
    expect(resolvePullSource(file)).toEqual(expected);
    expect(resolvePullSource(pathToFileURL(file).href)).toEqual(expected);
  });
});

describe('pullModel from a local file', () => {
  it('copies a local GGUF into the store, verifying its sha256', async () => {
    const source = join(dir, 'elsewhere.gguf');
    await writeFile(source, modelBytes);
    const store = join(dir, 'store');
    const result = await pullModel(source, { dir: store, sha256: modelSha });
    expect(result).toMatchObject({
      name: 'elsewhere',
      bytes: modelBytes.length,
      sha256: modelSha,
      alreadyPresent: false,
    });
    expect(await readdir(store)).toEqual(['elsewhere.gguf']);
    expect((await readFile(source)).equals(modelBytes)).toBe(true); // (toEqual on a 1.2 MB Buffer takes seconds)
  });

  it('keeps a writable copy of a read-only source', async () => {
    const source = join(dir, 'readonly.gguf');
    await writeFile(source, modelBytes, { mode: 0o444 });
    const store = join(dir, 'store');
    const result = await pullModel(source, { dir: store });
    expect((await stat(result.path)).mode & 0o777).toBe(0o644);
  });

  it('refuses a local file that is not GGUF and leaves nothing in the store', async () => {
    const source = join(dir, 'notes.gguf');
    await writeFile(source, 'just text');
    const store = join(dir, 'store');
    const error = await failure(pullModel(source, { dir: store }));
    expect(error.code).toBe('NOT_GGUF');
    expect(error.message).toContain(`${source} is not a GGUF model file`);
    expect(error.message).toContain('nothing was added to the store');
    expect(await readFile(source, 'utf8')).toBe('just text');
    expect(await readdir(store)).toEqual([]);
  });
});
