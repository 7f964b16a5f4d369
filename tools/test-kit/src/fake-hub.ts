import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One file of a repository on the fake hub. */
export interface FakeHubFile {
  /** `owner/name`, e.g. `Qwen/Qwen2.5-0.5B-Instruct-GGUF`. */
  repo: string;
  /** The path inside the repository, e.g. `qwen2.5-0.5b-instruct-q4_k_m.gguf`. */
  path: string;
  bytes: Buffer;
}

export interface FakeHubOptions {
  files: FakeHubFile[];
  /** The commit every file is at (40 hex digits); `main` resolves to it. Default: a fixed made-up sha. */
  commit?: string;
}

/** One request as the hub or its CDN received it. */
export interface FakeHubRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

/**
 * A Hugging Face hub over real HTTP, as its `resolve` endpoint behaves for LFS files: `GET|HEAD
 * /<owner>/<repo>/resolve/<revision>/<path>` answers 302 to a CDN URL on another origin, with `X-Linked-Size`,
 * `X-Linked-Etag` (the file's sha256, quoted) and `X-Repo-Commit` on the redirect; the CDN serves the bytes with
 * `Range: bytes=N-` support (206, or 416 past the end). A wrong revision or file is 404 with the hub's `X-Error-Code`
 * (`RevisionNotFound`, `EntryNotFound`); an unknown repository is 401 `RepoNotFound`, as the hub hides private ones.
 * Faults: `cutAfter(n)` destroys the next CDN transfer after n body bytes; `tamper()` makes the CDN serve bytes whose
 * sha256 differs from the hub's etag.
 */
export class FakeHub {
  readonly requests: FakeHubRequest[] = [];
  readonly commit: string;
  private readonly hub: Server;
  private readonly cdn: Server;
  private readonly sockets = new Set<Socket>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly files = new Map<string, { sha256: string; size: number }>();
  private cutAt: number | undefined;
  private tampered = false;

  private constructor(options: FakeHubOptions) {
    this.commit = options.commit ?? 'c0ffee0123456789abcdef0123456789abcdef01';
    for (const file of options.files) {
      const sha256 = createHash('sha256').update(file.bytes).digest('hex');
      this.blobs.set(sha256, file.bytes);
      this.files.set(`${file.repo}/${file.path}`, { sha256, size: file.bytes.length });
    }
    this.hub = createServer((req, res) => this.handleHub(req, res));
    this.cdn = createServer((req, res) => this.handleCdn(req, res));
    for (const server of [this.hub, this.cdn]) {
      server.on('connection', (socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
    }
  }

  static async start(options: FakeHubOptions): Promise<FakeHub> {
    const hub = new FakeHub(options);
    await Promise.all([hub.hub, hub.cdn].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    return hub;
  }

  /** The hub's origin, `http://127.0.0.1:PORT` (what `https://huggingface.co` is to the real hub). */
  get origin(): string {
    return `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
  }

  /** The CDN's origin: another port, so the redirect crosses origins as the real one does. */
  get cdnOrigin(): string {
    return `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  /** `<origin>/<repo>/resolve/<revision>/<path>`: the download URL of a file. */
  resolveUrl(repo: string, path: string, revision = 'main'): string {
    return `${this.origin}/${repo}/resolve/${revision}/${path}`;
  }

  /** The sha256 the hub publishes for a file (its LFS oid, sent as `X-Linked-Etag`). */
  sha256(repo: string, path: string): string {
    const file = this.files.get(`${repo}/${path}`);
    if (!file) throw new Error(`the fake hub has no ${repo}/${path}`);
    return file.sha256;
  }

  /** Destroy the next CDN transfer after `bytes` body bytes (the socket is cut; the bytes before it are flushed). */
  cutAfter(bytes: number): this {
    this.cutAt = bytes;
    return this;
  }

  /** Serve altered bytes from the CDN (one byte flipped) while the hub still announces the true sha256. */
  tamper(on = true): this {
    this.tampered = on;
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.cutAt = undefined;
    this.tampered = false;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise((r) => s.close(r))));
  }

  private record(server: 'hub' | 'cdn', req: IncomingMessage): string {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    this.requests.push({
      server,
      method: req.method ?? 'GET',
      path,
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    return path;
  }

  private handleHub(req: IncomingMessage, res: ServerResponse): void {
    const path = this.record('hub', req);
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const error = (status: number, code: string, message: string): void => {
      res
        .writeHead(status, { 'content-type': 'application/json', 'x-error-code': code, 'x-error-message': message })
        .end(req.method === 'HEAD' ? undefined : JSON.stringify({ error: message }));
    };
    if (!match) {
      error(404, 'EntryNotFound', 'Not found');
      return;
    }
    const [, repo, revision, file] = match as unknown as [string, string, string, string];
    if (![...this.files.keys()].some((key) => key.startsWith(`${repo}/`))) {
      error(401, 'RepoNotFound', 'Repository not found');
      return;
    }
    if (revision !== 'main' && revision !== this.commit) {
      error(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      return;
    }
    const entry = this.files.get(`${repo}/${file}`);
    if (!entry) {
      error(404, 'EntryNotFound', `${file} does not exist at revision ${revision}`);
      return;
    }
    const location = `${this.cdnOrigin}/repos/${entry.sha256}?response-content-disposition=attachment&X-Signature=fake`;
    res
      .writeHead(302, {
        location,
        'x-repo-commit': this.commit,
        'x-linked-size': String(entry.size),
        'x-linked-etag': `"${entry.sha256}"`,
        etag: `W/"${entry.sha256.slice(0, 16)}"`,
        'content-type': 'text/plain; charset=utf-8',
      })
      .end(req.method === 'HEAD' ? undefined : `Found. Redirecting to ${location}`);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    const path = this.record('cdn', req);
    const stored = this.blobs.get(path.replace(/^\/repos\//, ''));
    if (!stored) {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
      return;
    }
    let body = stored;
    if (this.tampered) {
      body = Buffer.from(stored);
      body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const headers: Record<string, string | number> = {
      'accept-ranges': 'bytes',
      'content-type': 'binary/octet-stream',
      etag: `"${path.slice(-32)}"`,
    };
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        ...headers,
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      res.writeHead(200, { ...headers, 'content-length': body.length });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const rest = body.subarray(start);
    const cut = this.cutAt;
    this.cutAt = undefined;
    if (cut === undefined || cut >= rest.length) {
      res.end(rest);
      return;
    }
    // The first `cut` bytes are flushed to the client, then the socket is destroyed.
    res.write(rest.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
  }
}
