export { type BuiltinToolsOptions, builtinTools } from './builtin-tools';
export {
  CommandPolicy,
  type CommandPolicyOptions,
  DEFAULT_ALLOW,
  DEFAULT_DENY,
  type PolicyDecision,
  parseCommand,
} from './command/command-policy';
export { type ExecuteCommandOptions, executeCommandTool } from './command/execute-command';
export { defineTool, parseToolArguments, type Tool, type ToolContext, toToolDefinition } from './define-tool';
export { ToolError, type ToolErrorCode } from './errors';
export { listFilesTool } from './fs/list-files';
export { type ReadFileOptions, readFileTool } from './fs/read-file';
export { type SearchFilesOptions, searchFilesTool } from './fs/search-files';
export { type WriteFileOptions, writeFileTool } from './fs/write-file';
export { createMcpServer, serveMcpOverStdio } from './mcp-server';
export {
  type Entity,
  type MemoryQuery,
  type MemoryQueryResult,
  MemoryStore,
  type MemoryStoreOptions,
  type Observation,
  type Provenance,
  type Relation,
} from './memory/memory-store';
export {
  addEntitiesTool,
  addObservationsTool,
  addRelationsTool,
  formatMemory,
  memoryQueryTool,
} from './memory/memory-tools';
export { type ExistingPath, type OpenedPath, type ResolvedPath, Sandbox, type SandboxOptions } from './sandbox';
export {
  createToolExecutor,
  type ToolEvent,
  type ToolExecutor,
  type ToolExecutorOptions,
  type ToolResult,
} from './tool-executor';
export {
  type SandboxSettings,
  sandboxSettings,
  type ToolsConfigSection,
  toolExecutorSettings,
  toolsConfigSection,
  toolsEnvBindings,
  webSearchSettings,
} from './tools-config';
export { type BraveOptions, BraveProvider } from './web/brave';
export type { WebSearchProvider, WebSearchResult } from './web/search-provider';
export { type SearxngOptions, SearxngProvider } from './web/searxng';
export { formatResults, type WebSearchOptions, webSearchProvider, webSearchTool } from './web/web-search';
