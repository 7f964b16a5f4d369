import type { ServerResponse } from 'node:http';

/**
 * Writes a streamed HTTP body (SSE or NDJSON) straight to the socket: waits for `drain` when the client reads slowly
 * (so memory stays bounded), and reports a client that went away so the upstream request can be cancelled.
 */
export class ResponseStream {
  private gone = false;

  constructor(private readonly res: ServerResponse) {
    res.once('close', () => {
      if (!res.writableFinished) this.gone = true;
    });
  }

  /** True once the client disconnected before the body was complete. */
  get clientGone(): boolean {
    return this.gone;
  }

  start(status: number, headers: Record<string, string>): void {
    this.res.writeHead(status, headers);
  }

  /** Write a chunk; resolves when the socket can take more (or the client is gone). */
  write(chunk: string): Promise<void> | undefined {
    if (this.gone || this.res.writableEnded) return undefined;
    if (this.res.write(chunk)) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  end(chunk?: string): void {
    if (this.gone || this.res.writableEnded) return;
    this.res.end(chunk);
  }
}
