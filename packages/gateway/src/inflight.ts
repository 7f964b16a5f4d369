/**
 * The chat requests being served, so that shutdown can wait for them to finish and, at its deadline, cancel the rest.
 */
export class InflightRequests {
  private readonly active = new Set<AbortController>();
  private waiters: Array<() => void> = [];

  /** Register a request; returns its controller and the function to call when it is done. */
  begin(): { controller: AbortController; done: () => void } {
    const controller = new AbortController();
    this.active.add(controller);
    return {
      controller,
      done: () => {
        this.active.delete(controller);
        if (this.active.size === 0) for (const wake of this.waiters.splice(0)) wake();
      },
    };
  }

  get size(): number {
    return this.active.size;
  }

  /** Resolve true when every request finished, false when `deadlineMs` passed first. */
  idle(deadlineMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), deadlineMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Cancel every request still running. */
  abortAll(reason: unknown): void {
    for (const controller of this.active) controller.abort(reason);
  }
}
