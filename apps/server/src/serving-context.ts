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
 * requests run at once.
 */
export class ServingContext {
  private readonly storage = new AsyncLocalStorage<Serving>();
  readonly enabled: boolean;

  constructor(router: GatewayRouter) {
    this.enabled = typeof router.on === 'function';
    if (!this.enabled) return;
    router.on?.('attempt-start', (target: GatewayTarget) => {
      const serving = this.storage.getStore();
      if (serving) serving.current = { provider: target.provider, model: target.model };
    });
    router.on?.('cache-hit', (target: GatewayTarget) => {
      const serving = this.storage.getStore();
      if (serving) serving.current = { provider: target.provider, model: target.model };
    });
    router.on?.('attempt', (attempt: GatewayAttempt) => {
      this.storage.getStore()?.attempts.push(attempt);
    });
  }

  /** Run `fn` (which calls the router) collecting its events into `serving`. */
  run<T>(serving: Serving, fn: () => T): T {
    return this.enabled ? this.storage.run(serving, fn) : fn();
  }
}
