import { describe, expect, it } from 'vitest';
import { raceAbort } from './abort';

const never = () => new Promise<never>(() => {});

describe('raceAbort', () => {
  it('settles with the promise when nothing aborts', async () => {
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error('no')), new AbortController().signal)).rejects.toThrow('no');
  });

  it('rejects with the reason as soon as the signal aborts, even if the work never settles', async () => {
    const controller = new AbortController();
    const raced = raceAbort(never(), controller.signal);
    controller.abort(new Error('stop'));
    await expect(raced).rejects.toThrow('stop');
  });

  it('rejects at once for an already aborted signal, mapping the reason when asked', async () => {
    const signal = AbortSignal.abort('why');
    await expect(raceAbort(never(), signal, (reason) => new Error(`mapped ${String(reason)}`))).rejects.toThrow(
      'mapped why',
    );
  });
});
