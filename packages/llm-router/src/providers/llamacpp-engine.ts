import type { Llama, LlamaCompletion, LlamaContext, LlamaContextSequence, LlamaModel } from 'node-llama-cpp';

/** The node-llama-cpp module, imported lazily so that users who never run a local GGUF never install it. */
export type NodeLlamaCpp = typeof import('node-llama-cpp');

interface EngineSettings {
  gpu: false | 'auto';
  threads: number;
}

/**
 * One `Llama` per process and settings, and one loaded model per file, shared by every provider that uses them:
 * loading is the slow part (about a second), so it happens once. Models are counted and disposed when the last
 * provider using them closes.
 */
const llamas = new Map<string, Promise<Llama>>();
const models = new Map<string, { model: Promise<LlamaModel>; users: number }>();

function llamaKey(settings: EngineSettings): string {
  return `${settings.gpu}|${settings.threads}`;
}

export function getLlamaFor(lib: NodeLlamaCpp, settings: EngineSettings): Promise<Llama> {
  const key = llamaKey(settings);
  let llama = llamas.get(key);
  if (!llama) {
    llama = lib.getLlama({
      gpu: settings.gpu,
      build: 'never',
      // The library's default on a CPU build is 4 threads whatever the machine: on 2 cores that is ~1 token/s.
      maxThreads: settings.threads,
      logLevel: lib.LlamaLogLevel.disabled,
      progressLogs: false,
    });
    llamas.set(key, llama);
    llama.catch(() => llamas.delete(key));
  }
  return llama;
}

/** The loaded model for `path`, loading it on first use. Pair every call with `releaseModel`. */
export function acquireModel(llama: Llama, settings: EngineSettings, path: string): Promise<LlamaModel> {
  const key = `${llamaKey(settings)}|${path}`;
  let entry = models.get(key);
  if (!entry) {
    const model = llama.loadModel({ modelPath: path });
    entry = { model, users: 0 };
    models.set(key, entry);
    model.catch(() => models.delete(key));
  }
  entry.users++;
  return entry.model;
}

/** The GGUF files loaded (or loading) in this process now, by any provider: what the embedded engine holds. */
export function loadedModelPaths(): string[] {
  // Keys are `<gpu>|<threads>|<path>`: the path is what follows the second bar.
  return [...new Set([...models.keys()].map((key) => key.slice(key.indexOf('|', key.indexOf('|') + 1) + 1)))];
}

export async function releaseModel(settings: EngineSettings, path: string): Promise<void> {
  const key = `${llamaKey(settings)}|${path}`;
  const entry = models.get(key);
  if (!entry || --entry.users > 0) return;
  models.delete(key);
  const model = await entry.model.catch(() => undefined);
  await model?.dispose();
}

export interface Slot {
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
}

/**
 * The context's sequences, lent out one per request: requests beyond the number of sequences wait in order (none is
 * dropped), and a waiting request whose signal aborts leaves the queue.
 */
export class SequencePool {
  private readonly free: Slot[];
  private readonly waiting: { grant: (slot: Slot) => void; fail: (error: unknown) => void }[] = [];
  private closedWith: unknown;
  /** Slots lent out and not yet released: generations in flight. */
  private lent = 0;
  private onDrained: (() => void) | undefined;

  constructor(
    lib: NodeLlamaCpp,
    readonly context: LlamaContext,
  ) {
    this.free = Array.from({ length: context.totalSequences }, () => {
      const sequence = context.getSequence();
      return { sequence, completion: new lib.LlamaCompletion({ contextSequence: sequence }) };
    });
  }

  /** Sequences free right now. */
  get available(): number {
    return this.free.length;
  }

  /** Requests waiting for a sequence right now. */
  get queued(): number {
    return this.waiting.length;
  }

  acquire(signal: AbortSignal): Promise<Slot> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    signal.throwIfAborted();
    const slot = this.free.pop();
    if (slot) {
      this.lent++;
      return Promise.resolve(slot);
    }
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal.reason);
      };
      const waiter = {
        grant: (granted: Slot) => {
          signal.removeEventListener('abort', onAbort);
          this.lent++;
          resolve(granted);
        },
        fail: (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  release(slot: Slot): void {
    this.lent--;
    const next = this.closedWith === undefined ? this.waiting.shift() : undefined;
    if (next) next.grant(slot);
    else this.free.push(slot);
    if (this.lent === 0) this.onDrained?.();
  }

  /**
   * Refuse new requests, fail the waiting ones, let the generations in flight end (their signals are usually aborted
   * already; at most `drainMs`), then free the context. Disposing it under a running generation would make that
   * generation throw from inside node-llama-cpp.
   */
  async close(reason: unknown, drainMs = 5_000): Promise<void> {
    this.closedWith = reason;
    for (const waiter of this.waiting.splice(0)) waiter.fail(reason);
    if (this.lent > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.onDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.context.dispose();
  }
}

/** The node-llama-cpp version the embedded engine is built and tested against. */
export const nodeLlamaCppVersion = '3.21.1';

/** How to install the embedded engine: all of node-llama-cpp's builds, or the CPU build alone. */
export const installEngineFix =
  `npm install node-llama-cpp@${nodeLlamaCppVersion} (every GPU build, about 770 MB; the CPU build alone on Linux x64, ` +
  `about 120 MB: npm install node-llama-cpp@${nodeLlamaCppVersion} @node-llama-cpp/linux-x64@${nodeLlamaCppVersion} --omit=optional)`;
