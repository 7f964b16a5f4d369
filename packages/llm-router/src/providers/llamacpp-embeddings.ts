import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { describeError } from '@unity/core';
import type { LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import {
  type EmbeddingProvider,
  type EmbeddingProviderRequest,
  type EmbeddingProviderResult,
  normalizeVector,
} from '../embedding-provider';
import { ProviderError, type ProviderErrorCode } from '../errors';
import { acquireModel, getLlamaFor, installEngineFix, type NodeLlamaCpp, releaseModel } from './llamacpp-engine';

interface LlamaCppEmbeddingProviderOptions {
  /** Provider id in attempts and events. Default `llamacpp`. */
  id?: string;
  /** The GGUF file. */
  modelPath: string;
  /** CPU threads. Default: half the machine's cores, at least 1. */
  threads?: number;
  /** Tokens one input may have. Default `min(2048, the model's training context)`. */
  contextSize?: number;
  /** Loads node-llama-cpp. Default `import('node-llama-cpp')`. */
  importLibrary?: () => Promise<unknown>;
}

interface Engine {
  model: LlamaModel;
  context: LlamaEmbeddingContext;
  contextSize: number;
}

/**
 * Embeddings from a GGUF model run in-process by node-llama-cpp (`createEmbeddingContext` → `getEmbeddingFor`), the
 * model shared with the chat engine of the same file. Inputs are embedded one at a time, in request order, and the
 * vectors scaled to unit length. An input longer than the context is refused (UNSUPPORTED), never cut silently.
 */
export function createLlamaCppEmbeddingProvider(options: LlamaCppEmbeddingProviderOptions): EmbeddingProvider {
  const id = options.id ?? 'llamacpp';
  const { modelPath } = options;
  const settings = {
    gpu: false as const,
    threads: Math.max(1, Math.floor(options.threads ?? Math.max(1, availableParallelism() / 2))),
  };
  let engine: Promise<Engine> | undefined;
  /** Requests run one after another on the one context. */
  let queue: Promise<unknown> = Promise.resolve();

  const error = (code: ProviderErrorCode, message: string, fix?: string, cause?: unknown) =>
    new ProviderError({ code, message, fix, cause, provider: id, model: modelPath });

  async function load(): Promise<Engine> {
    try {
      await stat(modelPath);
    } catch (cause) {
      throw error(
        'MODEL_NOT_FOUND',
        `model file not found: ${modelPath}`,
        'download it into the store with `unity models pull <URL | hf:owner/repo/file.gguf>`, or fix the path',
        cause,
      );
    }
    let lib: NodeLlamaCpp;
    try {
      lib = (await (options.importLibrary ?? (() => import('node-llama-cpp')))()) as NodeLlamaCpp;
    } catch (cause) {
      throw error(
        'NOT_INSTALLED',
        `the embedded engine needs node-llama-cpp: ${describeError(cause)}`,
        installEngineFix,
        cause,
      );
    }
    let model: LlamaModel | undefined;
    try {
      model = await acquireModel(await getLlamaFor(lib, settings), settings, modelPath);
      const contextSize = Math.max(16, Math.min(options.contextSize ?? 2048, model.trainContextSize));
      const context = await model.createEmbeddingContext({ contextSize, threads: settings.threads });
      return { model, context, contextSize };
    } catch (cause) {
      if (model) await releaseModel(settings, modelPath);
      throw error(
        'UNSUPPORTED',
        `${modelPath} could not be loaded for embeddings: ${describeError(cause)}`,
        undefined,
        cause,
      );
    }
  }

  const ready = (): Promise<Engine> => {
    if (!engine) {
      engine = load();
      // A failed load is not kept: the file may be pulled before the next request.
      engine.catch(() => {
        engine = undefined;
      });
    }
    return engine;
  };

  async function run(e: Engine, request: EmbeddingProviderRequest): Promise<EmbeddingProviderResult> {
    const embeddings: number[][] = [];
    let inputTokens = 0;
    for (const [index, text] of request.input.entries()) {
      request.signal.throwIfAborted();
      const tokens = e.model.tokenize(text).length;
      if (tokens > e.contextSize) {
        throw error(
          'UNSUPPORTED',
          `input[${index}] is ${tokens} tokens, more than the embedding context of ${e.contextSize} tokens`,
          'split the text into smaller pieces, or raise llamacpp.context_size (up to the model’s training context)',
        );
      }
      inputTokens += tokens;
      embeddings.push(normalizeVector((await e.context.getEmbeddingFor(text)).vector));
    }
    return { embeddings, inputTokens };
  }

  return {
    id,
    remote: false,

    async embed(request: EmbeddingProviderRequest): Promise<EmbeddingProviderResult> {
      const e = await ready();
      const turn = queue.then(() => run(e, request));
      queue = turn.catch(() => {});
      try {
        return await turn;
      } catch (cause) {
        if (ProviderError.isInstance(cause)) throw cause;
        if (request.signal.aborted) {
          throw error(
            'ABORTED',
            `the embedding request to ${id} was aborted by the caller`,
            undefined,
            request.signal.reason,
          );
        }
        throw error('UNSUPPORTED', `${modelPath} failed to embed: ${describeError(cause)}`, undefined, cause);
      }
    },

    async close() {
      const loading = engine;
      engine = undefined;
      const e = await loading?.catch(() => undefined);
      if (!e) return;
      await queue;
      await e.context.dispose();
      await releaseModel(settings, modelPath);
    },
  };
}
