import { EvolutionError } from './errors';

export interface SearchReplaceBlock {
  search: string;
  replace: string;
}

const blockPattern = /^<{5,9} ?SEARCH[^\n]*\n([\s\S]*?)^={5,9}[ \t]*\n([\s\S]*?)^>{5,9} ?REPLACE[^\n]*$/gm;

/** The SEARCH/REPLACE blocks of a reply, in the format aider made common. */
export function parseSearchReplace(reply: string): SearchReplaceBlock[] {
  const text = reply.replace(/\r\n/g, '\n');
  return [...text.matchAll(blockPattern)].map((m) => ({
    search: stripFinalNewline(m[1] as string),
    replace: stripFinalNewline(m[2] as string),
  }));
}

/**
 * Apply SEARCH/REPLACE blocks in order. Each SEARCH text must occur in the source (exactly, or else line by line
 * ignoring trailing spaces); the first occurrence is replaced. Throws `DIFF_NOT_APPLIED` naming the block otherwise.
 */
export function applySearchReplace(source: string, reply: string): string {
  const blocks = parseSearchReplace(reply);
  if (blocks.length === 0) {
    throw new EvolutionError({
      code: 'DIFF_NOT_APPLIED',
      message: 'the reply holds no SEARCH/REPLACE block',
      fix: 'the coder must answer with <<<<<<< SEARCH / ======= / >>>>>>> REPLACE blocks',
    });
  }
  let result = source;
  blocks.forEach((block, i) => {
    if (block.search === '') {
      throw new EvolutionError({
        code: 'DIFF_NOT_APPLIED',
        message: `SEARCH/REPLACE block ${i + 1} of ${blocks.length} has an empty SEARCH section`,
      });
    }
    const at = result.indexOf(block.search);
    if (at >= 0) {
      result = result.slice(0, at) + block.replace + result.slice(at + block.search.length);
      return;
    }
    const loose = findLoose(result, block.search);
    if (!loose) {
      // Stryker disable next-line StringLiteral: split always yields a first element
      const firstLine = block.search.split('\n')[0] ?? '';
      throw new EvolutionError({
        code: 'DIFF_NOT_APPLIED',
        message: `SEARCH/REPLACE block ${i + 1} of ${blocks.length} does not apply: its SEARCH text (starting "${firstLine.slice(0, 80)}") is not in the parent`,
      });
    }
    result = result.slice(0, loose.start) + block.replace + result.slice(loose.end);
  });
  return result;
}

/** Find `search` in `source` comparing lines with trailing whitespace ignored; character offsets of the match. */
function findLoose(source: string, search: string): { start: number; end: number } | undefined {
  const lines = source.split('\n');
  const wanted = search.split('\n').map((l) => l.trimEnd());
  const offsets: number[] = [];
  let offset = 0;
  for (const line of lines) {
    offsets.push(offset);
    offset += line.length + 1;
  }
  for (let i = 0; i + wanted.length <= lines.length; i++) {
    if (wanted.every((w, j) => (lines[i + j] as string).trimEnd() === w)) {
      const last = i + wanted.length - 1;
      return { start: offsets[i] as number, end: (offsets[last] as number) + (lines[last] as string).length };
    }
  }
  return undefined;
}

function stripFinalNewline(text: string): string {
  // Stryker disable next-line StringLiteral: a section is empty or ends in the newline before the next marker
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
