import { z } from 'zod';
import { defineTool } from '../define-tool';
import { ToolError } from '../errors';
import type { Sandbox } from '../sandbox';

export interface WriteFileOptions {
  /** Largest content accepted, in bytes. Default 10 MiB. */
  maxBytes?: number;
}

const schema = z.object({
  path: z.string().describe('File path, relative to the workspace root; missing folders are created'),
  content: z.string().describe('The complete new content of the file'),
});

/**
 * `write_file`: replace or create a file atomically; never through a link, never a hard-linked file, never under
 * `.git` or a protected path of the sandbox (`.unity`, the tools' own state).
 */
export function writeFileTool(sandbox: Sandbox, options: WriteFileOptions = {}) {
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  return defineTool({
    name: 'write_file',
    description:
      'Write a text file in the workspace (creating missing folders), replacing it whole. The write is atomic. ' +
      "Symbolic links, hard-linked files, .git and the tools' own state (.unity) are refused.",
    schema,
    async execute({ path, content }) {
      const bytes = Buffer.byteLength(content, 'utf8');
      if (bytes > maxBytes) {
        throw new ToolError({
          code: 'DENIED',
          message: `write_file: content of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`,
          fix: 'write a smaller file, or split the content over several files',
        });
      }
      if (path.split(/[\\/]/).some((part) => part.toLowerCase() === '.git')) {
        throw new ToolError({
          code: 'DENIED',
          message: `write_file: refused to write ${JSON.stringify(path)}: files under .git (hooks, config) could make git run programs`,
          fix: 'change the repository with git commands instead',
        });
      }
      const written = await sandbox.writeFile(path, content, 'write_file');
      return `${written.created ? 'created' : 'replaced'} ${written.rel} (${written.bytes} bytes)`;
    },
  });
}
