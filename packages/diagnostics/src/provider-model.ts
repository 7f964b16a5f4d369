import type { ChatModel } from '@unity/core';
import type { Provider } from '@unity/llm-router/internal';

/**
 * A `ChatModel` that sends every request to one model of one provider, with no retry and no fallback: what the deep
 * checks need to judge that model alone.
 */
export function providerModel(provider: Provider, model: string): ChatModel {
  return {
    chat: ({ signal, ...request }) =>
      provider.chat({ ...request, model, signal: signal ?? new AbortController().signal }),
  };
}
