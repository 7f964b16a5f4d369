import { describe, expect, it } from 'vitest';
import { type SplitPiece, splitThinkTags, ThinkTagSplitter } from './think-tags';

describe('ThinkTagSplitter', () => {
  it('splits reasoning from the answer and drops the whitespace around the tags', () => {
    expect(splitThinkTags('<think>\nplan it\n</think>\n\nthe answer')).toEqual({
      text: 'the answer',
      reasoning: 'plan it',
    });
  });

  it('leaves content without tags alone', () => {
    expect(splitThinkTags('  just text\n')).toEqual({ text: '  just text\n', reasoning: undefined });
  });

  it.each([1, 2, 3, 5, 7])('gives the same split when fed %i characters at a time', (size) => {
    const content = '<think>\nfirst, read\nthen write \n</think>\n\nDone: a < b and <thin x';
    const splitter = new ThinkTagSplitter();
    const pieces: SplitPiece[] = [];
    for (let i = 0; i < content.length; i += size) pieces.push(...splitter.push(content.slice(i, i + size)));
    pieces.push(...splitter.flush());
    const join = (type: string) =>
      pieces
        .filter((p) => p.type === type)
        .map((p) => p.text)
        .join('');
    expect(join('reasoning')).toBe('first, read\nthen write');
    expect(join('text')).toBe('Done: a < b and <thin x');
  });

  it('treats an unterminated think block as reasoning', () => {
    expect(splitThinkTags('<think>still thinking')).toEqual({ text: '', reasoning: 'still thinking' });
  });
});
