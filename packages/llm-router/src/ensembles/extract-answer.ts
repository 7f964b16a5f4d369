import type { ExtractMode } from './ensemble-config';

/** Numbers as answers write them: `-3`, `1,234`, `0.5`, `−2` (a typographic minus). */
const numberPattern = /[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-−]?\.\d+/g;

/**
 * The final answer of a text, normalised, for self-consistency votes: an answer marked as final (the last
 * `\boxed{…}`, else the last `Answer:` / `Final answer:` line) wins over the rest of the text; then `last_number` keeps
 * its last number (`1,000.0` → `1000`), `last_line` its last non-empty line, `full` the whole text. Whitespace and
 * case are normalised, and markdown emphasis and a closing full stop dropped. Undefined when there is nothing to read
 * (no number for `last_number`, an empty text).
 */
export function extractAnswer(text: string, mode: ExtractMode): string | undefined {
  const body = text.replace(/<think>[\s\S]*?<\/think>/gi, '');
  if (mode === 'full') return normalise(body);
  const marked = lastBoxed(body) ?? lastAnswerLine(body);
  if (mode === 'last_number') {
    const numbers = (marked ?? body).match(numberPattern);
    const last = numbers?.at(-1);
    return last === undefined ? undefined : canonicalNumber(last);
  }
  const line =
    marked ??
    body
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .at(-1);
  return line === undefined ? undefined : normalise(line);
}

function normalise(text: string): string | undefined {
  const value = text
    .replace(/[*_`]+/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\$+|\$+$/g, '')
    .replace(/[.!]+$/, '')
    .trim()
    .toLowerCase();
  return value === '' ? undefined : value;
}

/** `1,000.50` → `1000.5`; `−3` → `-3`. */
function canonicalNumber(text: string): string {
  const n = Number(text.replace(/,/g, '').replace('−', '-'));
  return Number.isFinite(n) ? String(n) : text;
}

/** The content of the last `\boxed{…}`, nested braces included. */
function lastBoxed(text: string): string | undefined {
  const start = text.lastIndexOf('\\boxed{');
  if (start === -1) return undefined;
  let depth = 0;
  const from = start + '\\boxed{'.length;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return normalise(text.slice(from, i));
      depth--;
    }
  }
  return undefined;
}

/** What follows `Answer:` (or `Final answer:`) on the last line that has it. */
function lastAnswerLine(text: string): string | undefined {
  const lines = [...text.matchAll(/^[\s*#>-]*(?:final\s+)?answer\s*[:：]\s*(.+)$/gim)];
  const last = lines.at(-1)?.[1];
  return last === undefined ? undefined : normalise(last);
}
