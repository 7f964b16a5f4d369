import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';
import { looksBinary, SNIFF_BYTES } from './binary';

export interface ReadFileOptions {
  /** Lines returned when the call gives no limit. Default 2000. */
  defaultLimit?: number;
  /** Characters kept of one very long line. Default 2000. */
  maxLineChars?: number;
  /** Characters returned at most by one call; the rest is paged. Default 100,000. */
  maxChars?: number;
}

const schema = z.object({
  path: z.string().describe('File path, relative to the workspace root'),
  offset: z.number().int().min(1).optional().describe('First line to return, 1-based (default 1)'),
  limit: z.number().int().min(1).max(10_000).optional().describe('How many lines to return (default 2000)'),
});

/** `read_file`: a text file's lines, numbered, a page at a time; binary files refused. */
export function readFileTool(sandbox: Sandbox, options: ReadFileOptions = {}) {
  const defaultLimit = options.defaultLimit ?? 2000;
  const maxLineChars = options.maxLineChars ?? 2000;
  const maxChars = options.maxChars ?? 100_000;
  return defineTool({
    name: 'read_file',
    description:
      'Read a text file in the workspace. Returns its lines numbered ("   12\\tcode"); use offset and limit to page ' +
      'through long files. Binary files are refused.',
    schema,
    readOnly: true,
    async execute({ path, offset = 1, limit = defaultLimit }, { signal }) {
      const file = await sandbox.openForRead(path, 'read_file');
      try {
        const head = Buffer.alloc(SNIFF_BYTES);
        const { bytesRead } = await file.handle.read(head, 0, SNIFF_BYTES, 0);
        if (looksBinary(head, bytesRead)) {
          throw new ToolError({
            code: 'BINARY_FILE',
            message: `read_file: ${file.rel} is a binary file (${file.stats.size} bytes); read_file shows text only`,
            fix: 'inspect it with a command that describes it (e.g. `file`), or read another file',
          });
        }
        const lines: string[] = [];
        let lineNo = 0;
        let chars = 0;
        let more = false;
        let cutByChars = false;
        const stream = file.handle.createReadStream({ encoding: 'utf8', autoClose: false, start: 0 });
        let pending = '';
        const take = (line: string): boolean => {
          lineNo++;
          if (lineNo < offset) return true;
          if (lines.length >= limit) {
            more = true;
            return false;
          }
          const shown =
            line.length > maxLineChars
              ? `${line.slice(0, maxLineChars)}… [line cut at ${maxLineChars} characters]`
              : line;
          const text = `${String(lineNo).padStart(6)}\t${shown}`;
          if (chars + text.length > maxChars && lines.length > 0) {
            more = true;
            cutByChars = true;
            return false;
          }
          chars += text.length + 1;
          lines.push(text);
          return true;
        };
        let stopped = false;
        for await (const chunk of stream) {
          signal?.throwIfAborted();
          pending += chunk as string;
          let newline = pending.indexOf('\n');
          while (newline !== -1) {
            const line = pending.slice(0, newline).replace(/\r$/, '');
            pending = pending.slice(newline + 1);
            if (!take(line)) {
              stopped = true;
              break;
            }
            newline = pending.indexOf('\n');
          }
          if (stopped) break;
        }
        stream.destroy();
        if (!stopped && pending.length > 0) take(pending);
        if (file.stats.size === 0) return `(${file.rel} is empty)`;
        if (lines.length === 0) {
          return `(${file.rel} has ${lineNo} lines; offset ${offset} is past the end)`;
        }
        const first = offset;
        const last = offset + lines.length - 1;
        let note = '';
        if (more) {
          note =
            `\n[${file.rel}: showing lines ${first}-${last} of a ${file.stats.size}-byte file` +
            `${cutByChars ? ` (cut at ${maxChars} characters)` : ''}; more lines follow: call read_file with offset=${last + 1} to continue]`;
        } else if (first > 1) {
          note = `\n[${file.rel}: lines ${first}-${last}, end of file]`;
        }
        return lines.join('\n') + note;
      } finally {
        await file.handle.close();
      }
    },
  });
}
