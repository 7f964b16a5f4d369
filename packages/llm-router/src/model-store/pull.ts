import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeError } from '@unity/core';
import { isGgufFile } from './gguf-header';
import { fetchFollowingRedirects, type HubFileInfo } from './hub-redirects';
import { ModelStoreError } from './model-store-error';

export interface PullProgress {
  /** Bytes of the file now on disk, including those of a resumed earlier attempt. */
  receivedBytes: number;
  /** The file's full size, when the server said. */
  totalBytes: number | undefined;
  /** Bytes already on disk from an interrupted download when this one started (0 for a fresh download). */
  resumedFromBytes: number;
}

export interface PullOptions {
  /** The store folder (created if missing). */
  dir: string;
  /** Expected sha256 (hex). When given, a file with another digest is deleted and the pull fails. */
  sha256?: string;
  signal?: AbortSignal;
  onProgress?: (progress: PullProgress) => void;
  /** Fail with `TIMEOUT` when no bytes arrive for this long. Default 60 000 ms. */
  stallTimeoutMs?: number;
  /** Extra request headers, e.g. `authorization: Bearer <token>` for a gated Hugging Face repository. */
  headers?: Record<string, string>;
  /** Download again even when the model is already in the store. */
  force?: boolean;
}

export interface PullResult {
  /** The store name (`stories260K`). */
  name: string;
  path: string;
  url: string;
  bytes: number;
  sha256: string;
  /** True when an interrupted download was continued with an HTTP Range request. */
  resumed: boolean;
  /** True when the model was already in the store and nothing was downloaded. */
  alreadyPresent: boolean;
  /**
   * What the sha256 was checked against: the `sha256` option, the sha256 a Hugging Face hub published for the file
   * (`X-Linked-Etag` on its redirect), or nothing (`none`: only the GGUF magic bytes were checked).
   */
  verifiedBy: 'sha256' | 'hub' | 'none';
  /** The commit a Hugging Face hub resolved the revision to (`X-Repo-Commit`), when it said. */
  commit?: string;
}

/**
 * `hf:owner/repo/path/file.gguf` → its Hugging Face download URL; an http(s) URL as is; a `file:` URL or the path of an
 * existing local file → that file, to be copied in (`localPath`). Names the file to save.
 */
export function resolvePullSource(source: string): { url: string; fileName: string; localPath?: string } {
  let url: URL;
  let localPath: string | undefined;
  if (source.startsWith('hf:')) {
    const parts = source.slice(3).split('/').filter(Boolean);
    if (parts.length < 3) throw invalidSource(source, 'hf: sources name an owner, a repository and a file');
    const [owner, repo, ...file] = parts;
    url = new URL(
      `https://huggingface.co/${owner}/${repo}/resolve/main/${file.map((p) => encodeURIComponent(p)).join('/')}`,
    );
  } else if (source.startsWith('file:')) {
    localPath = fileURLToPath(source);
    url = pathToFileURL(localPath);
  } else {
    try {
      url = new URL(source);
    } catch {
      if (!existsSync(source)) {
        throw invalidSource(source, 'it is neither a URL nor an hf: reference, and no such file exists');
      }
      localPath = resolve(source);
      url = pathToFileURL(localPath);
    }
    if (!localPath && url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalidSource(source, `the ${url.protocol} protocol is not supported`);
    }
  }
  const fileName = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  if (!/^[^/\\]+\.gguf$/i.test(fileName) || fileName.startsWith('.')) {
    throw invalidSource(source, `its file name "${fileName}" does not end in .gguf`);
  }
  return localPath ? { url: url.href, fileName, localPath } : { url: url.href, fileName };
}

function invalidSource(source: string, why: string): ModelStoreError {
  return new ModelStoreError({
    code: 'INVALID_SOURCE',
    message: `cannot pull "${source}": ${why}`,
    fix: 'give an http(s) URL of a .gguf file, hf:<owner>/<repo>/<file>.gguf, or the path of a local .gguf file',
  });
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function hashFile(path: string, hash: Hash = createHash('sha256')): Promise<Hash> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

/**
 * Download a GGUF model into the store: to `<name>.gguf.part` first, continuing an interrupted download with an HTTP
 * Range request (a server that answers 200 instead of 206 restarts it), then checking the sha256 (when given) and the
 * GGUF magic bytes, and only then renaming it into place. A broken transfer keeps the `.part` file for the next attempt;
 * a wrong checksum or a non-GGUF file deletes it.
 */
export async function pullModel(source: string, options: PullOptions): Promise<PullResult> {
  const { url, fileName, localPath } = resolvePullSource(source);
  const name = fileName.replace(/\.gguf$/i, '');
  const path = join(options.dir, fileName);
  const part = `${path}.part`;
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new ModelStoreError({
      code: 'INVALID_SOURCE',
      message: `cannot pull "${source}": the sha256 "${options.sha256}" is not 64 hex digits`,
      fix: 'give the full sha256 of the file (64 hex digits, as `sha256sum` prints it), or leave --sha256 out',
    });
  }
  await mkdir(options.dir, { recursive: true });

  const present = await fileSize(path);
  if (present > 0 && !options.force) {
    const sha256 = (await hashFile(path)).digest('hex');
    if (expected && sha256 !== expected) {
      throw new ModelStoreError({
        code: 'CHECKSUM_MISMATCH',
        message: `${path} is already in the store but its sha256 is ${sha256}, not ${expected}`,
        fix: `remove it (unity models rm ${name}) and pull again`,
      });
    }
    return {
      name,
      path,
      url,
      bytes: present,
      sha256,
      resumed: false,
      alreadyPresent: true,
      verifiedBy: expected ? 'sha256' : 'none',
    };
  }

  const unlock = await lock(`${part}.lock`, name);
  try {
    return await fetchIntoPlace({ url, name, path, part, expected, localPath }, options);
  } finally {
    await unlock();
  }
}

/**
 * Take the pull's lock file (`<file>.part.lock`, holding the process id), so that two pulls of one file never append to
 * the same `.part`. A lock whose process is gone is taken over.
 */
async function lock(lockPath: string, name: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      // An empty lock file is one another pull has just created and not yet written its pid into: held, unless old.
      const justCreated =
        !(pid > 0) && Date.now() - ((await stat(lockPath).catch(() => undefined))?.mtimeMs ?? 0) < 10_000;
      if (justCreated || (pid > 0 && isRunning(pid))) {
        throw new ModelStoreError({
          code: 'LOCKED',
          message: `another pull of ${name} is running (${pid > 0 ? `process ${pid}` : 'just started'}, lock file ${lockPath})`,
          fix: pid > 0 ? `wait for it to finish, or stop process ${pid}` : 'wait for it to finish',
        });
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new ModelStoreError({
    code: 'LOCKED',
    message: `cannot take the lock file ${lockPath}: another pull keeps recreating it`,
    fix: 'wait for the other pull to finish',
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fetchIntoPlace(
  target: { url: string; name: string; path: string; part: string; expected: string | undefined; localPath?: string },
  options: PullOptions,
): Promise<PullResult> {
  const { url, name, path, part, expected, localPath } = target;
  const { bytes, hash, resumed, hub } = localPath
    ? await copyLocal(localPath, part)
    : await download(url, part, await fileSize(part), options, expected);
  const sha256 = hash.digest('hex');
  const want = expected ?? hub.sha256;
  if (want && sha256 !== want) {
    await rm(part, { force: true });
    const whose = expected ? 'the expected' : 'the sha256 the hub published for it (X-Linked-Etag),';
    throw new ModelStoreError({
      code: 'CHECKSUM_MISMATCH',
      message: `${localPath ?? `the download of ${url}`} has sha256 ${sha256}, not ${whose} ${want}; nothing was added to the store`,
      fix: localPath
        ? 'check the --sha256 value, or that this is the file you meant'
        : expected
          ? 'check the --sha256 value against the model page; if it is right, the server sent a different file'
          : 'pull again; if it fails the same way, something between you and the hub alters the download (a proxy?)',
    });
  }
  if (!(await isGgufFile(part))) {
    await rm(part, { force: true });
    throw new ModelStoreError({
      code: 'NOT_GGUF',
      message: `${localPath ?? url} is not a GGUF model file (it does not start with "GGUF"); nothing was added to the store`,
      fix: localPath
        ? 'give the path of a .gguf model file'
        : 'give the URL of the .gguf file itself (on Hugging Face: the "resolve" link, not the "blob" page)',
    });
  }
  await rename(part, path);
  const verifiedBy = expected ? 'sha256' : hub.sha256 ? 'hub' : 'none';
  return {
    name,
    path,
    url,
    bytes,
    sha256,
    resumed,
    alreadyPresent: false,
    verifiedBy,
    ...(hub.commit ? { commit: hub.commit } : {}),
  };
}

/** A local file is copied in (to the `.part` file, so that it goes through the same checks as a download). */
async function copyLocal(
  localPath: string,
  part: string,
): Promise<{ bytes: number; hash: Hash; resumed: false; hub: HubFileInfo }> {
  try {
    await copyFile(localPath, part);
    // The store's copy is the store's: writable by its owner whatever the source's mode (often read-only).
    await chmod(part, 0o644);
  } catch (error) {
    throw new ModelStoreError({
      code: 'DOWNLOAD_FAILED',
      message: `cannot copy ${localPath} into the store: ${describeError(error)}`,
      fix: 'check that the file exists and is readable',
      cause: error,
    });
  }
  return { bytes: await fileSize(part), hash: await hashFile(part), resumed: false, hub: {} };
}

async function download(
  url: string,
  part: string,
  startAt: number,
  options: PullOptions,
  expected: string | undefined,
): Promise<{ bytes: number; hash: Hash; resumed: boolean; hub: HubFileInfo }> {
  const stallMs = options.stallTimeoutMs ?? 60_000;
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const armStall = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), stallMs);
  };
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  let received = startAt;
  let total: number | undefined;

  const fail = (error: unknown, what: string): ModelStoreError => {
    if (options.signal?.aborted) {
      return new ModelStoreError({
        code: 'ABORTED',
        message: `download of ${url} aborted after ${received} bytes`,
        fix: 'run the same pull again to resume it',
        cause: error,
      });
    }
    if (stall.signal.aborted) {
      return new ModelStoreError({
        code: 'TIMEOUT',
        message: `download of ${url} stalled: no data for ${stallMs} ms (stallTimeoutMs) after ${received} bytes`,
        fix: 'run the same pull again to resume it',
        cause: error,
      });
    }
    return new ModelStoreError({
      code: 'DOWNLOAD_FAILED',
      message: `${what}: ${describeError(rootCause(error))}`,
      fix:
        received > 0
          ? `${received}${total ? ` of ${total}` : ''} bytes are kept in ${part}: run the same pull again to resume`
          : 'check the URL and the network, then try again',
      cause: error,
    });
  };

  // Hash what an earlier attempt left before asking for the rest, so a long hash never counts as a stalled transfer.
  const earlier = startAt > 0 ? await hashFile(part) : undefined;
  try {
    armStall();
    // A sha256 the hub publishes for the file that is not the one expected: stop before the download starts.
    const checkHub = (hub: HubFileInfo) => {
      if (expected && hub.sha256 && hub.sha256 !== expected) {
        throw new ModelStoreError({
          code: 'CHECKSUM_MISMATCH',
          message: `the hub publishes sha256 ${hub.sha256} for ${url} (X-Linked-Etag), not the expected ${expected}; nothing was downloaded`,
          fix: 'the file at that revision is another one: pin the revision (a commit sha) the sha256 belongs to, or correct the sha256',
        });
      }
    };
    let response: Response;
    let hub: HubFileInfo;
    try {
      ({ response, hub } = await fetchFollowingRedirects(url, {
        headers: { ...options.headers, ...(startAt > 0 ? { range: `bytes=${startAt}-` } : {}) },
        signal,
        beforeFollow: checkHub,
      }));
    } catch (error) {
      if (ModelStoreError.isInstance(error)) throw error;
      throw fail(error, `cannot reach ${url}`);
    }
    const contentRange = response.headers.get('content-range');
    const rangeTotal = contentRange ? Number(contentRange.split('/')[1]) : Number.NaN;
    if (response.status === 416 && startAt > 0 && rangeTotal === startAt) {
      // The earlier attempt had already received every byte.
      await response.body?.cancel();
      return { bytes: startAt, hash: earlier ?? createHash('sha256'), resumed: true, hub };
    }
    const resumed = response.status === 206 && startAt > 0 && contentRange?.startsWith(`bytes ${startAt}-`) === true;
    if (!response.ok || (response.status === 206 && !resumed) || response.status === 416) {
      await response.body?.cancel();
      if (startAt > 0 && (response.status === 206 || response.status === 416)) {
        // A range the server cannot honour as asked: start over.
        await rm(part, { force: true });
        return download(url, part, 0, options, expected);
      }
      throw httpFailure(url, response);
    }
    // No Content-Length (a chunked response) means an unknown size, not 0.
    const lengthHeader = response.headers.get('content-length');
    const length = lengthHeader === null ? Number.NaN : Number(lengthHeader);
    if (!resumed) {
      // A fresh download, or a server that ignored the Range header and sent the whole file: start from zero.
      received = 0;
      if (startAt > 0) await truncate(part, 0);
    }
    total = Number.isFinite(rangeTotal) ? rangeTotal : Number.isFinite(length) ? received + length : hub.size;
    const hash = (resumed && earlier) || createHash('sha256');
    const resumedFromBytes = received;
    options.onProgress?.({ receivedBytes: received, totalBytes: total, resumedFromBytes });
    if (!response.body) throw fail(new Error('the response has no body'), `download of ${url} failed`);
    // Each chunk is on disk before the next is read: a transfer cut at any point loses nothing that arrived, so the
    // next pull resumes exactly where this one stopped. (A stream pipeline would drop what is still buffered when
    // the source fails.)
    const reader = response.body.getReader();
    const file = await open(part, 'a');
    try {
      for (;;) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (error) {
          throw fail(error, `the transfer of ${url} broke off`);
        }
        if (next.done) break;
        armStall();
        await file.write(next.value);
        hash.update(next.value);
        received += next.value.length;
        options.onProgress?.({ receivedBytes: received, totalBytes: total, resumedFromBytes });
      }
    } finally {
      await file.close();
    }
    if (total !== undefined && received !== total) {
      throw fail(new Error(`the server sent ${received} of ${total} bytes`), `incomplete download of ${url}`);
    }
    return { bytes: received, hash, resumed, hub };
  } finally {
    clearTimeout(timer);
  }
}

/** A refused download: the status, the hub's own word on it (`X-Error-Code`, `X-Error-Message`) and the fix. */
function httpFailure(url: string, response: Response): ModelStoreError {
  const hubCode = response.headers.get('x-error-code');
  const hubMessage = response.headers.get('x-error-message');
  const said = hubCode ? ` (${hubCode}${hubMessage ? `: ${hubMessage}` : ''})` : '';
  const fixes: Record<string, string> = {
    RevisionNotFound: 'the revision (branch, tag or commit sha) does not exist in that repository: check it',
    EntryNotFound:
      'the repository has no such file at that revision: check the file name (the "Files" tab of the model)',
    RepoNotFound: 'no such repository, or a private or gated one: check owner/name, or pass an authorization header',
    GatedRepo: 'the repository is gated: accept its terms on the model page and pass an authorization header',
  };
  return new ModelStoreError({
    code: 'DOWNLOAD_FAILED',
    message: `download of ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd() + said,
    fix:
      (hubCode && fixes[hubCode]) ??
      (response.status === 404
        ? 'check the URL: the file does not exist there (for hf: the owner, repository and file name)'
        : response.status === 401 || response.status === 403
          ? 'the file needs credentials (a gated repository): pass an authorization header'
          : 'try again later'),
  });
}

/** The innermost cause (fetch's "fetch failed" hides ECONNREFUSED / ENOTFOUND in its cause). */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
}
