/**
 * Settle with `promise`, or reject as soon as `signal` aborts — for work that is slow to notice an abort (or never
 * does). The rejection is `mapReason(signal.reason)`, by default the reason itself. A promise left behind after an
 * abort has its rejection handled, so it never surfaces as unhandled.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  mapReason: (reason: unknown) => unknown = (reason) => reason,
): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(mapReason(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(mapReason(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
