import type { ChatRequest, ChatResponse, ToolCall } from '@unity/core';
import { createRouter, type Router, type UnityConfig } from '@unity/llm-router';
import { singleModelConfig } from '../single-model-config';

/** One event of a model's streamed answer (the shape of the router's stream). */
export type BenchStreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  | { type: 'tool-call'; toolCall: ToolCall }
  | { type: 'finish'; response: ChatResponse }
  | { type: 'error'; error: unknown };

/** A model to bench: its name in the results, and a stream of its answer to a request. */
export interface BenchModel {
  name: string;
  stream(request: ChatRequest): AsyncIterable<BenchStreamEvent>;
}

export interface BenchModelsOptions {
  /** The loaded config: providers' addresses, keys' variables, `llamacpp:` settings, privacy. */
  config: UnityConfig;
  /** Where the providers' keys are read from (the CLI passes process.env). */
  env?: Record<string, string | undefined>;
  /** Resolves relative `llamacpp/<file.gguf>` paths and the model store (default: process.cwd()). */
  cwd?: string;
}

/**
 * Each model string (`qwen2.5-coder:7b`, `ollama_chat/llama3.2:1b`, `llamacpp/./model.gguf`, `minimax/MiniMax-M2` …)
 * as a bench model, through one router that sends a request to that model only: no fallback, no retry, no circuit
 * breaker, no response cache, no audit (what a measurement of that model alone needs). `close()` releases the router.
 */
export function benchModelsFromConfig(
  modelStrings: readonly string[],
  options: BenchModelsOptions,
): { models: BenchModel[]; close(): Promise<void> } {
  const isolated = singleModelConfig(options.config);
  let router: Router | undefined;
  const routed = () =>
    (router ??= createRouter({
      config: isolated,
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    }));
  return {
    models: modelStrings.map((name) => ({
      name,
      stream: (request) => routed().stream({ ...request, model: name }) as AsyncIterable<BenchStreamEvent>,
    })),
    close: async () => {
      await router?.close();
    },
  };
}
