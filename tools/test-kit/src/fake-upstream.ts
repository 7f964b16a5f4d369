import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type ChatRequestInfo, Script, type Step, type StepSource } from './script';
import { sleep } from './text';

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, the raw text when it was not JSON, or undefined when empty. */
  body: unknown;
  /** True when the client went away before the response was complete (an abort that reached the upstream). */
  aborted: boolean;
}

/** Context handed to protocol handlers: the request, its parsed body, and helpers that honour client aborts. */
export interface HandlerContext {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  body: unknown;
  record: RecordedRequest;
  /** Resolves after `ms`, or early when the client disconnected (check `closed`). */
  wait(ms: number): Promise<void>;
  readonly closed: boolean;
}

/**
 * A real HTTP server on 127.0.0.1 that records every request. Subclasses speak a protocol; this base owns the
 * listener, the request log, scripted steps, connection refusal and shutdown.
 */
export abstract class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  protected readonly script: Script;
  private server: Server;
  private sockets = new Set<Socket>();
  private listeningPort = 0;

  protected constructor(defaultStep: StepSource) {
    this.script = new Script(defaultStep);
    this.server = this.createServer();
  }

  /** http://127.0.0.1:PORT */
  get origin(): string {
    return `http://127.0.0.1:${this.listeningPort}`;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** Queue steps for the next chat requests, in order. */
  enqueue(...steps: StepSource[]): this {
    this.script.push(...steps);
    return this;
  }

  /** The step used once the queue is empty (default: a reply echoing the last user message). */
  setDefault(step: StepSource): this {
    this.script.setDefault(step);
    return this;
  }

  /** Steps still queued. */
  get pending(): number {
    return this.script.pending;
  }

  /** Requests to a path ending with `suffix` (e.g. '/chat/completions'). */
  requestsTo(suffix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(suffix));
  }

  /** Forget recorded requests and queued steps. */
  reset(): void {
    this.requests.length = 0;
    this.script.clear();
  }

  /** Stop listening, so that new connections are refused (ECONNREFUSED). `accept()` listens again on the same port. */
  async refuse(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
  }

  async accept(): Promise<void> {
    this.server = this.createServer();
    await this.listen(this.listeningPort);
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listeningPort = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Wait until at least `n` requests were received (polls; for tests that race a request). */
  async waitForRequests(n: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} requests, got ${this.requests.length}`);
      await sleep(5);
    }
  }

  protected abstract handle(ctx: HandlerContext): Promise<void>;

  /** Take the next scripted step for a chat request. */
  protected nextStep(info: ChatRequestInfo): Step {
    return this.script.next(info);
  }

  private createServer(): Server {
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: { ...req.headers },
      body,
      aborted: false,
    };
    this.requests.push(record);
    let closed = false;
    const wakers = new Set<() => void>();
    res.on('close', () => {
      closed = true;
      if (!res.writableFinished) record.aborted = true;
      for (const wake of wakers) wake();
    });
    const ctx: HandlerContext = {
      req,
      res,
      path: url.pathname,
      body,
      record,
      get closed() {
        return closed;
      },
      wait: (ms) =>
        new Promise<void>((resolve) => {
          if (closed) return resolve();
          const done = () => {
            clearTimeout(timer);
            wakers.delete(done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          wakers.add(done);
        }),
    };
    try {
      await this.handle(ctx);
    } catch (error) {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `fake upstream bug: ${(error as Error).message}` }));
      } else res.destroy();
    }
  }
}

/**
 * Drop the connection after what was written has reached the socket, without a clean end of the body: the client
 * receives the partial data, then a premature close.
 */
export function cutConnection(res: ServerResponse): void {
  res.write('', () => res.socket?.end());
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
