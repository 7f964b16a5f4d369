import type { ChatResponse } from '@unity/core';
import { expect } from 'vitest';
import { ProviderError, type ProviderErrorCode } from '../errors';
import type { Provider, ProviderRequest, StreamEvent } from '../provider';

type Mode = 'chat' | 'stream';
export const modes: Mode[] = ['chat', 'stream'];

/** Collect every event of a stream. */
export async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Fold stream events into the shape `chat()` returns, checking the stream ends with exactly one finish. */
function foldEvents(events: StreamEvent[]): ChatResponse {
  const finishes = events.filter((e) => e.type === 'finish');
  expect(finishes).toHaveLength(1);
  expect(events.at(-1)?.type).toBe('finish');
  const finish = finishes[0] as Extract<StreamEvent, { type: 'finish' }>;
  const text = (type: 'text-delta' | 'reasoning-delta') =>
    events
      .filter((e): e is Extract<StreamEvent, { type: typeof type }> => e.type === type)
      .map((e) => e.text)
      .join('');
  const reasoning = text('reasoning-delta');
  return {
    content: text('text-delta'),
    toolCalls: events.flatMap((e) => (e.type === 'tool-call' ? [e.toolCall] : [])),
    ...(reasoning ? { reasoning } : {}),
    usage: finish.usage,
    finishReason: finish.finishReason,
    model: finish.model,
  };
}

/** Run one request through `chat()` or `stream()` and return the answer in `chat()`'s shape. */
export async function run(provider: Provider, mode: Mode, request: ProviderRequest): Promise<ChatResponse> {
  if (mode === 'chat') return provider.chat(request);
  return foldEvents(await collect(provider.stream(request)));
}

/** Expect a ProviderError with the given code; returns it for further checks. */
export async function expectProviderError(promise: Promise<unknown>, code: ProviderErrorCode): Promise<ProviderError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(ProviderError.isInstance(caught), `expected a ProviderError ${code}, got ${String(caught)}`).toBe(true);
  const error = caught as ProviderError;
  expect(error.code, error.message).toBe(code);
  return error;
}
