import type { Readable, Writable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ToolExecutor } from './tool-executor';

export interface McpServerOptions {
  /** Server name and version announced to clients. Default `unity-tools` / `0.0.0`. */
  name?: string;
  version?: string;
}

/**
 * An MCP server offering the executor's tools with their JSON Schemas. Calls go through the executor (validation,
 * sandbox, policy, timeouts), and every failure comes back as a tool result with `isError: true`, never as a
 * protocol error that would look like a crashed server.
 */
export function createMcpServer(executor: ToolExecutor, options: McpServerOptions = {}): McpServer {
  const mcp = new McpServer({ name: options.name ?? 'unity-tools', version: options.version ?? '0.0.0' });
  const server = mcp.server;
  server.registerCapabilities({ tools: { listChanged: false } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: executor.definitions().map((d) => ({
      name: d.name,
      description: d.description,
      inputSchema: d.parameters as { type: 'object'; [key: string]: unknown },
    })),
  }));
  let sequence = 0;
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {};
    const [result] = await executor.execute(
      [{ id: `mcp-${++sequence}`, name: request.params.name, arguments: args, rawArguments: JSON.stringify(args) }],
      { signal: extra.signal },
    );
    return {
      content: [{ type: 'text' as const, text: result?.content ?? '' }],
      isError: !result?.ok,
    };
  });
  return mcp;
}

/** Serve the executor's tools over stdio (or the given streams) until the input ends. */
export async function serveMcpOverStdio(
  executor: ToolExecutor,
  options: McpServerOptions & { stdin?: Readable; stdout?: Writable } = {},
): Promise<McpServer> {
  const mcp = createMcpServer(executor, options);
  await mcp.connect(new StdioServerTransport(options.stdin, options.stdout));
  return mcp;
}
