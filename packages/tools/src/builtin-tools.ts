import type { CommandPolicyOptions } from './command/command-policy';
import { type ExecuteCommandOptions, executeCommandTool } from './command/execute-command';
import type { Tool } from './define-tool';
import { listFilesTool } from './fs/list-files';
import { readFileTool } from './fs/read-file';
import { searchFilesTool } from './fs/search-files';
import { writeFileTool } from './fs/write-file';
import { MemoryStore } from './memory/memory-store';
import { addEntitiesTool, addObservationsTool, addRelationsTool, memoryQueryTool } from './memory/memory-tools';
import type { Sandbox } from './sandbox';
import { type WebSearchOptions, webSearchTool } from './web/web-search';

export interface BuiltinToolsOptions {
  commandPolicy?: CommandPolicyOptions;
  /** Further settings of execute_command (environment, timeouts, output cap). */
  command?: Omit<ExecuteCommandOptions, 'policy'>;
  webSearch?: WebSearchOptions;
  /** The memory log, relative to the root. Default `.unity/memory.jsonl`. */
  memoryFile?: string;
}

/**
 * The built-in tools for a workspace: the seven (read_file, write_file, list_files, search_files, execute_command,
 * web_search, memory_query) and memory_query's companions add_entities, add_relations and add_observations.
 */
export function builtinTools(sandbox: Sandbox, options: BuiltinToolsOptions = {}): Tool[] {
  const memory = new MemoryStore(sandbox, { file: options.memoryFile });
  return [
    readFileTool(sandbox),
    writeFileTool(sandbox),
    listFilesTool(sandbox),
    searchFilesTool(sandbox),
    executeCommandTool(sandbox, { ...options.command, policy: options.commandPolicy }),
    webSearchTool(options.webSearch),
    memoryQueryTool(memory),
    addEntitiesTool(memory),
    addRelationsTool(memory),
    addObservationsTool(memory),
  ] as Tool[];
}
