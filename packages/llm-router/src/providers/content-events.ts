import type { StreamEvent } from '../provider';
import type { TextToolCallCollector } from '../tool-call-text';
import type { SplitPiece } from './think-tags';

/**
 * Stream events for split content: reasoning goes out at once, answer text through the collector, which holds it
 * back while it may still be a tool call written as text.
 */
export function* contentEvents(pieces: SplitPiece[], collector: TextToolCallCollector): Generator<StreamEvent> {
  for (const piece of pieces) {
    if (piece.type === 'reasoning') {
      yield { type: 'reasoning-delta', text: piece.text };
      continue;
    }
    const text = collector.push(piece.text);
    if (text !== '') yield { type: 'text-delta', text };
  }
}
