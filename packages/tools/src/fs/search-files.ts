import { closeSync, constants, fstatSync, openSync, read, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import picomatch from 'picomatch';
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';
import { looksBinary } from './binary';
import type { Folder } from './descriptors';
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

const readAt = promisify(read);
/** Longest stretch of a streamed file without a newline that is held before it is searched on its own. */
const MAX_STREAMED_LINE = 1024 * 1024;

/** Flags for opening a file found by the walk: never through a link, and a pipe swapped in cannot hang the open. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The first chunk of an open file into `buffer`, and whether that is all of it; undefined when it is not a regular
 * file. Small files (most of a source tree) cost one open, one read and one close, synchronously: the walk runs in
 * time slices (see walk.ts).
 */
function readHead(fd: number, buffer: Buffer): { bytes: Buffer; whole: boolean } | undefined {
  if (!fstatSync(fd).isFile()) return undefined;
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  return { bytes: buffer.subarray(0, n), whole: n < buffer.length };
}

/** The text of an open file from its start, a chunk at a time, by positional reads (the descriptor is left open). */
async function* readText(fd: number): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let position = 0; ; ) {
    const { bytesRead } = await readAt(fd, buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    yield decoder.write(buffer.subarray(0, bytesRead));
  }
  const rest = decoder.end();
  if (rest) yield rest;
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
      const start = await sandbox.openExisting(path, 'search_files');
      const startRel = start.rel === '.' ? '' : `${start.rel}/`;
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

      /** The rest of a large file, streamed line by line from the open descriptor (left open). */
      const searchStream = async (fd: number, rel: string): Promise<boolean> => {
        let pending = '';
        let lineNo = 0;
        for await (const chunk of readText(fd)) {
          if (signal?.aborted) return false;
          pending += chunk;
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
      };

      const buffer = Buffer.allocUnsafe(CHUNK);
      /** Search the file open as `fd`; false to stop. The caller closes `fd` (after a returned promise settles). */
      const searchFd = (fd: number, rel: string): boolean | Promise<boolean> => {
        const head = readHead(fd, buffer);
        if (!head || looksBinary(head.bytes)) return true;
        filesSearched++;
        if (!head.whole) return searchStream(fd, rel);
        let text: string | undefined;
        const decoded = () => {
          text ??= head.bytes.toString('utf8');
          return text;
        };
        if (!matcher.file(head.bytes, decoded)) return true;
        return searchText(rel, decoded());
      };

      /** Search the file `name` of a folder found by the walk, opened through the folder's descriptor. */
      const searchEntry = (folder: Folder, name: string, rel: string): boolean | Promise<boolean> => {
        let fd: number;
        try {
          fd = openSync(folder.path(name), OPEN_FLAGS);
        } catch {
          return true; // vanished, unreadable or swapped for a link: skipped, like rg does
        }
        let result: boolean | Promise<boolean>;
        try {
          result = searchFd(fd, rel);
        } catch {
          closeSync(fd);
          return true;
        }
        if (!(result instanceof Promise)) {
          closeSync(fd);
          return result;
        }
        return result.catch(() => true).finally(() => closeSync(fd));
      };

      try {
        if (!start.folder) {
          await searchFd(start.fd, start.rel);
        } else {
          await walk(start.folder, { sandbox, gitignore: true, signal }, (entry) => {
            if (entry.kind !== 'file') return undefined;
            if (isMatch && !isMatch(entry.rel.slice(startRel.length))) return undefined;
            return searchEntry(entry.folder, entry.name, entry.rel);
          });
        }
      } finally {
        start.close();
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
