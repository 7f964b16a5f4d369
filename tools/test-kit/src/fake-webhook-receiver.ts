import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sleep } from './text';

/** One POST the receiver got (every attempt, whatever it was answered). */
export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  raw: string;
  /** The status it was answered with (`hang`: none, the connection was held open). */
  answered: number | 'hang';
  at: number;
}

/** How the receiver answers a request: a status, or `hang` to hold the connection open without answering. */
export type WebhookAnswer = number | 'hang';

/**
 * A real HTTP webhook receiver on 127.0.0.1 (Slack's incoming webhooks, a generic JSON receiver) for alerting tests:
 * it records every request, answers 200 by default, and answers the next requests with queued statuses (503, 400) or
 * not at all (`hang`), for retries and timeouts.
 */
export class FakeWebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly answers: WebhookAnswer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeWebhookReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const receiver = new FakeWebhookReceiver(server, (server.address() as AddressInfo).port);
    server.on('request', (req, res) => void receiver.onRequest(req, res));
    server.on('connection', (socket) => {
      receiver.sockets.add(socket);
      socket.on('close', () => receiver.sockets.delete(socket));
    });
    return receiver;
  }

  /** `http://127.0.0.1:PORT/<path>` */
  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Answer the next requests with these, in order; 200 once they are used up. */
  answerWith(...answers: WebhookAnswer[]): this {
    this.answers.push(...answers);
    return this;
  }

  /** The parsed bodies received, in order. */
  bodies<T = Record<string, unknown>>(): T[] {
    return this.received.map((r) => r.body as T);
  }

  /** Wait until a received request satisfies `predicate` (polls). */
  async waitFor(predicate: (received: ReceivedWebhook) => boolean, timeoutMs = 10_000): Promise<ReceivedWebhook> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no matching webhook within ${timeoutMs} ms; received: ${JSON.stringify(this.bodies())}`);
      }
      await sleep(10);
    }
  }

  reset(): void {
    this.received.length = 0;
    this.answers.length = 0;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // kept as text
    }
    const answer = this.answers.shift() ?? 200;
    this.received.push({
      path: new URL(req.url ?? '/', 'http://receiver').pathname,
      headers: { ...req.headers },
      body,
      raw,
      answered: answer,
      at: Date.now(),
    });
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    res.writeHead(answer, { 'content-type': 'text/plain' });
    res.end(answer < 300 ? 'ok' : 'no');
  }
}
