export { defineTool, parseToolArguments, type Tool, type ToolContext, toToolDefinition } from './define-tool';
export { ToolError, type ToolErrorCode } from './errors';
