import { lstatSync } from 'node:fs';
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';
import { type EntryKind, walk } from './walk';

const schema = z.object({
  path: z.string().default('.').describe('Folder to list, relative to the workspace root (default: the root)'),
  recursive: z.boolean().default(false).describe('List the whole tree below the folder, honouring .gitignore'),
  max: z.number().int().min(1).max(10_000).default(500).describe('Most entries to return (default 500)'),
});

interface Listed {
  rel: string;
  kind: EntryKind;
  size?: number;
}

function format(entry: Listed): string {
  const size = entry.size === undefined ? '-' : String(entry.size);
  return `${entry.kind.padEnd(7)} ${size.padStart(10)}  ${entry.rel}${entry.kind === 'dir' ? '/' : ''}`;
}

/** `list_files`: entries of a folder with their type and size; recursive listings honour `.gitignore`. */
export function listFilesTool(sandbox: Sandbox) {
  return defineTool({
    name: 'list_files',
    description:
      'List a folder in the workspace: one entry a line with its type (file, dir, symlink), size in bytes and path. ' +
      'With recursive=true the whole tree is listed, skipping .git, node_modules and what .gitignore ignores.',
    schema,
    readOnly: true,
    async execute({ path, recursive, max }, { signal }) {
      const opened = await sandbox.openExisting(path, 'list_files');
      const entries: Listed[] = [];
      let more = false;
      try {
        if (!opened.folder) {
          throw new ToolError({
            code: 'FAILED',
            message: `list_files: ${opened.rel} is a file, not a folder`,
            fix: 'read it with read_file, or list its folder',
          });
        }
        const walkOptions = { sandbox, gitignore: recursive, recursive, signal };
        await walk(opened.folder, walkOptions, (entry) => {
          if (entries.length >= max) {
            more = true;
            return false;
          }
          // Stat through the folder's descriptor, never by a path that could have been swapped.
          const size =
            entry.kind === 'file'
              ? lstatSync(entry.folder.path(entry.name), { throwIfNoEntry: false })?.size
              : undefined;
          entries.push({ rel: entry.rel, kind: entry.kind, ...(size !== undefined ? { size } : {}) });
          return undefined;
        });
      } finally {
        opened.close();
      }
      entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      if (entries.length === 0) return `(${opened.rel} is empty)`;
      const lines = entries.map(format);
      if (more) lines.push(`[stopped at ${max} entries; list a sub-folder, or raise max]`);
      return lines.join('\n');
    },
  });
}
