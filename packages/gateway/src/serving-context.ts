import { AsyncLocalStorage } from 'node:async_hooks';
import type { GatewayAttempt, GatewayRouter, GatewayTarget } from './gateway-router';

/** What the router has said so far about one streamed request: the attempt in progress and those that ended. */
export interface Serving {
  current?: GatewayTarget;
  attempts: GatewayAttempt[];
}

/**
 * Who is serving a stream, known at its first token — before the response (which says it) exists — so that the
 * x-unity-* headers can be sent with the first byte. The router emits its events synchronously inside the call they
 * belong to, so an AsyncLocalStorage opened around the call collects exactly that call's events, however many
 * requests run at once. It listens to the router until `close()`, which the gateway calls when it shuts down.
 */
export class ServingContext {
  private readonly storage = new AsyncLocalStorage<Serving>();
  // biome-ignore lint/suspicious/noExplicitAny: matches EventEmitter's listener signature
  private readonly listeners: Array<readonly [string, (...args: any[]) => void]> = [];
  readonly enabled: boolean;

  constructor(private readonly router: GatewayRouter) {
    this.enabled = typeof router.on === 'function';
    if (!this.enabled) return;
    const setCurrent = (target: GatewayTarget) => {
      const serving = this.storage.getStore();
      if (serving) serving.current = { provider: target.provider, model: target.model };
    };
    this.listen('attempt-start', setCurrent);
    this.listen('cache-hit', setCurrent);
    this.listen('attempt', (attempt: GatewayAttempt) => {
      this.storage.getStore()?.attempts.push(attempt);
    });
  }

  /** Run `fn` (which calls the router) collecting its events into `serving`. */
  run<T>(serving: Serving, fn: () => T): T {
    return this.enabled ? this.storage.run(serving, fn) : fn();
  }

  /** Stop listening to the router (idempotent), so that gateways re-created over one router do not pile up. */
  close(): void {
    for (const [name, listener] of this.listeners.splice(0)) this.router.off?.(name, listener);
  }

  // biome-ignore lint/suspicious/noExplicitAny: matches EventEmitter's listener signature
  private listen(name: string, listener: (...args: any[]) => void): void {
    this.router.on?.(name, listener);
    this.listeners.push([name, listener]);
  }
}
