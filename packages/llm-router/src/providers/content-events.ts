import type { TokenLogprob } from '@unity/core';
import type { StreamEvent } from '../provider';
import type { TextToolCallCollector } from '../tool-call-text';
import type { SplitPiece } from './think-tags';

/**
 * Stream events for split content: reasoning goes out at once, answer text through the collector, which holds it
 * back while it may still be a tool call written as text. Log probabilities received so far (`pending`) go with the
 * next text that leaves.
 */
export function* contentEvents(
  pieces: SplitPiece[],
  collector: TextToolCallCollector,
  pending?: TokenLogprob[],
): Generator<StreamEvent> {
  for (const piece of pieces) {
    if (piece.type === 'reasoning') {
      yield { type: 'reasoning-delta', text: piece.text };
      continue;
    }
    const text = collector.push(piece.text);
    if (text !== '') yield textDelta(text, pending);
  }
}

/** A text delta carrying the log probabilities received so far, which it takes out of `pending`. */
export function textDelta(text: string, pending?: TokenLogprob[]): StreamEvent {
  if (!pending?.length) return { type: 'text-delta', text };
  return { type: 'text-delta', text, logprobs: pending.splice(0) };
}
