import { closeSync, constants, createReadStream, open, openSync, readSync } from 'node:fs';
import picomatch from 'picomatch';
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';
import { looksBinary } from './binary';
import { walk } from './walk';

export interface SearchFilesOptions {
  /** Characters of a matching line shown. Default 300. */
  maxLineChars?: number;
}

const schema = z.object({
  pattern: z.string().min(1).max(1000).describe('Text to find (literal unless regex=true)'),
  path: z
    .string()
    .default('.')
    .describe('Folder (or file) to search, relative to the workspace root (default: the root)'),
  glob: z.string().max(500).optional().describe('Only files matching this glob, e.g. "*.ts" or "src/**/*.test.ts"'),
  regex: z.boolean().default(false).describe('Treat pattern as a JavaScript regular expression'),
  max: z.number().int().min(1).max(5000).default(200).describe('Most matching lines to return (default 200)'),
});

interface Match {
  rel: string;
  line: number;
  text: string;
}

/** Files up to this size are read whole in one read; larger ones are streamed line by line. */
const CHUNK = 64 * 1024;
/** Longest stretch of a streamed file without a newline that is held before it is searched on its own. */
const MAX_STREAMED_LINE = 1024 * 1024;

function openNoFollow(abs: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(abs, constants.O_RDONLY | constants.O_NOFOLLOW, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

/**
 * The first chunk of a file into `buffer`, and whether that is all of it. Small files (most of a source tree) cost
 * one open, one read and one close, synchronously: the walk runs in time slices (see walk.ts).
 */
function readHead(abs: string, buffer: Buffer): { bytes: Buffer; whole: boolean } {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return { bytes: buffer.subarray(0, n), whole: n < buffer.length };
  } finally {
    closeSync(fd);
  }
}

interface Matcher {
  /** Does this line match? */
  line(text: string): boolean;
  /** Could any line of this file match? A cheap test on the whole file that never says no wrongly. */
  file(bytes: Buffer, text: () => string): boolean;
}

function compile(pattern: string, regex: boolean): Matcher {
  if (!regex) {
    const needle = Buffer.from(pattern, 'utf8');
    return { line: (text) => text.includes(pattern), file: (bytes) => bytes.includes(needle) };
  }
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (error) {
    throw new ToolError({
      code: 'INVALID_ARGUMENTS',
      message: `search_files: pattern is not a valid regular expression: ${(error as Error).message}`,
      fix: 'fix the expression, or search for the literal text with regex=false',
    });
  }
  // In multiline mode a match in any line is also a match in the whole text, unless a negative lookaround sees the
  // line break: only then is the whole-file test skipped.
  const whole = /\(\?<?!/.test(pattern) ? undefined : new RegExp(pattern, 'm');
  return { line: (text) => re.test(text), file: (_bytes, text) => whole?.test(text()) ?? true };
}

/** `search_files`: lines matching a pattern, as `path:line:text`, over a tree (binary and ignored files skipped). */
export function searchFilesTool(sandbox: Sandbox, options: SearchFilesOptions = {}) {
  const maxLineChars = options.maxLineChars ?? 300;
  return defineTool({
    name: 'search_files',
    description:
      'Search the workspace for lines containing a pattern (literal text, or a regular expression with regex=true). ' +
      'Returns "path:line:text" a match a line. Skips binary files, .git, node_modules and what .gitignore ignores.',
    schema,
    readOnly: true,
    async execute({ pattern, path, glob, regex, max }, { signal }) {
      const matcher = compile(pattern, regex);
      const start = await sandbox.resolveExisting(path, 'search_files');
      const startRel = start.rel === '.' ? '' : `${start.rel}/`;
      // A glob without a slash matches base names anywhere ("*.ts"); one with a slash matches the path below `path`.
      const isMatch = glob ? picomatch(glob, { dot: true, basename: !glob.includes('/') }) : undefined;
      const matches: Match[] = [];
      let more = false;
      let filesSearched = 0;

      const add = (rel: string, line: number, text: string): boolean => {
        if (matches.length >= max) {
          more = true;
          return false;
        }
        const shown = text.length > maxLineChars ? `${text.slice(0, maxLineChars)}…` : text;
        matches.push({ rel, line, text: shown });
        return true;
      };

      const searchText = (rel: string, text: string): boolean => {
        let lineNo = 0;
        let from = 0;
        while (from <= text.length) {
          let end = text.indexOf('\n', from);
          if (end === -1) end = text.length;
          lineNo++;
          let line = text.slice(from, end);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (matcher.line(line) && !add(rel, lineNo, line)) return false;
          if (end === text.length) break;
          from = end + 1;
        }
        return true;
      };

      const searchStream = async (abs: string, rel: string): Promise<boolean> => {
        const stream = createReadStream(abs, { fd: await openNoFollow(abs), encoding: 'utf8' });
        let pending = '';
        let lineNo = 0;
        try {
          for await (const chunk of stream) {
            if (signal?.aborted) return false;
            pending += chunk as string;
            let newline = pending.indexOf('\n');
            while (newline !== -1) {
              lineNo++;
              const line = pending.slice(0, newline).replace(/\r$/, '');
              pending = pending.slice(newline + 1);
              if (matcher.line(line) && !add(rel, lineNo, line)) return false;
              newline = pending.indexOf('\n');
            }
            if (pending.length > MAX_STREAMED_LINE) {
              // One enormous line (minified code, a data dump): searched as it is, not kept growing.
              if (matcher.line(pending) && !add(rel, lineNo + 1, pending)) return false;
              pending = '';
            }
          }
          if (pending.length > 0 && matcher.line(pending) && !add(rel, lineNo + 1, pending)) return false;
          return true;
        } finally {
          stream.destroy();
        }
      };

      const buffer = Buffer.allocUnsafe(CHUNK);
      const searchFile = (abs: string, rel: string): boolean | Promise<boolean> => {
        let head: { bytes: Buffer; whole: boolean };
        try {
          head = readHead(abs, buffer);
        } catch {
          return true; // vanished or unreadable: skipped, like rg does
        }
        if (looksBinary(head.bytes)) return true;
        filesSearched++;
        if (!head.whole) return searchStream(abs, rel).catch(() => true);
        let text: string | undefined;
        const decoded = () => {
          text ??= head.bytes.toString('utf8');
          return text;
        };
        if (!matcher.file(head.bytes, decoded)) return true;
        return searchText(rel, decoded());
      };

      if (start.stats.isFile()) {
        await searchFile(start.real, start.rel);
      } else {
        await walk(start.real, { base: sandbox.root, gitignore: true, signal }, (entry) => {
          if (entry.kind !== 'file') return undefined;
          if (isMatch && !isMatch(entry.rel.slice(startRel.length))) return undefined;
          return searchFile(entry.abs, entry.rel);
        });
      }
      signal?.throwIfAborted();
      if (matches.length === 0) {
        return `no matches for ${JSON.stringify(pattern)} in ${start.rel}${glob ? ` (files matching ${glob})` : ''} (${filesSearched} files searched)`;
      }
      matches.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : a.line - b.line));
      const lines = matches.map((m) => `${m.rel}:${m.line}:${m.text}`);
      if (more) lines.push(`[stopped at ${max} matches; narrow the pattern, path or glob, or raise max]`);
      return lines.join('\n');
    },
  });
}
