import { describe, expect, it } from 'vitest';
import { extractAnswer } from './extract-answer';

describe('extractAnswer', () => {
  it('last_number: the last number of the text, thousands separators and trailing zeros dropped', () => {
    expect(extractAnswer('3 apples and 4 pears make 7 fruits', 'last_number')).toBe('7');
    expect(extractAnswer('The total is 1,250.50 dollars.', 'last_number')).toBe('1250.5');
    expect(extractAnswer('It is −3.', 'last_number')).toBe('-3');
    expect(extractAnswer('no digits here', 'last_number')).toBeUndefined();
  });

  it('prefers the last \\boxed{} answer over the numbers after it', () => {
    expect(extractAnswer('so \\boxed{\\frac{1}{2}} and \\boxed{42}, checked in 3 steps', 'last_number')).toBe('42');
    expect(extractAnswer('we get \\boxed{x^{2} + 1}\nthat took 5 minutes', 'last_line')).toBe('x^{2} + 1');
  });

  it('prefers an "Answer:" line over the rest, markdown and case normalised', () => {
    const text = 'Step 1: 12 * 3 = 36\n**Final Answer:** 36 apples\nHope this helps in 2 ways!';
    expect(extractAnswer(text, 'last_number')).toBe('36');
    expect(extractAnswer(text, 'last_line')).toBe('36 apples');
  });

  it('last_line: the last non-empty line, whitespace and case normalised, a closing full stop dropped', () => {
    expect(extractAnswer('Thinking...\n\n  The  Capital is   PARIS.  \n\n', 'last_line')).toBe('the capital is paris');
  });

  it('full: the whole text normalised, so that two spellings of one text vote together', () => {
    expect(extractAnswer('Paris\n is the capital.', 'full')).toBe(extractAnswer('paris is the  Capital', 'full'));
  });

  it('ignores <think> reasoning', () => {
    expect(extractAnswer('<think>maybe 5? no, 6</think>The answer is 7', 'last_number')).toBe('7');
    expect(extractAnswer('<think>only thoughts</think>', 'last_line')).toBeUndefined();
  });
});
