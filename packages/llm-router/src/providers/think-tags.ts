/** A piece of content after `<think>` splitting: answer text or reasoning. */
export interface SplitPiece {
  type: 'text' | 'reasoning';
  text: string;
}

const open = '<think>';
const close = '</think>';

/**
 * Splits `<think>…</think>` reasoning out of content, incrementally: feed stream deltas with `push` (tags may be cut
 * across deltas), then call `flush` once at the end. Whitespace right after a tag and right before `</think>` is
 * dropped, so `<think>\nplan\n</think>\n\nanswer` gives reasoning `plan` and text `answer`.
 */
export class ThinkTagSplitter {
  private buffer = '';
  private inThink = false;
  private trimStart = false;

  push(delta: string): SplitPiece[] {
    this.buffer += delta;
    const pieces: SplitPiece[] = [];
    for (;;) {
      const tag = this.inThink ? close : open;
      const at = this.buffer.indexOf(tag);
      if (at >= 0) {
        const before = this.buffer.slice(0, at);
        this.emit(pieces, this.inThink ? before.trimEnd() : before);
        this.buffer = this.buffer.slice(at + tag.length);
        this.inThink = !this.inThink;
        this.trimStart = true;
        continue;
      }
      // Keep back what could be the start of a tag, and (inside reasoning) trailing whitespace before `</think>`.
      let keep = partialTagLength(this.buffer, tag);
      if (this.inThink) {
        const before = this.buffer.slice(0, this.buffer.length - keep);
        keep += before.length - before.trimEnd().length;
      }
      this.emit(pieces, this.buffer.slice(0, this.buffer.length - keep));
      this.buffer = this.buffer.slice(this.buffer.length - keep);
      return pieces;
    }
  }

  flush(): SplitPiece[] {
    const pieces: SplitPiece[] = [];
    this.emit(pieces, this.inThink ? this.buffer.trimEnd() : this.buffer);
    this.buffer = '';
    return pieces;
  }

  private emit(pieces: SplitPiece[], raw: string): void {
    let text = raw;
    if (this.trimStart) {
      text = text.trimStart();
      if (text === '') return;
      this.trimStart = false;
    }
    if (text !== '') pieces.push({ type: this.inThink ? 'reasoning' : 'text', text });
  }
}

/** Split a whole content string: `{ text, reasoning }` (reasoning undefined when there was none). */
export function splitThinkTags(content: string): { text: string; reasoning: string | undefined } {
  const splitter = new ThinkTagSplitter();
  const pieces = [...splitter.push(content), ...splitter.flush()];
  const join = (type: SplitPiece['type']) =>
    pieces
      .filter((p) => p.type === type)
      .map((p) => p.text)
      .join('');
  const reasoning = join('reasoning');
  return { text: join('text'), reasoning: reasoning === '' ? undefined : reasoning };
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialTagLength(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
