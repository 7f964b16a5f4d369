import type { Readable, Writable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ToolError } from './errors';
import type { ToolExecutor } from './tool-executor';

interface McpServerOptions {
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

interface McpStdioOptions extends McpServerOptions {
  stdin?: Readable;
  stdout?: Writable;
  /** The largest message read, in bytes (default: the SDK's stdio limit, 10 MiB). */
  maxMessageBytes?: number;
  /**
   * Called when the connection ends because of a failure: a message over the size limit. The client has been sent a
   * JSON-RPC error first; the server stops reading. Whoever runs the server decides how to exit.
   */
  onFatal?: (error: ToolError) => void;
}

/** JSON-RPC's code for a request that is not a valid one. */
const invalidRequest = -32600;

/**
 * Serve the executor's tools over stdio (or the given streams) until the input ends. A message over the SDK's size
 * limit ends the session: the client gets a JSON-RPC error saying so, and `onFatal` the reason.
 */
export async function serveMcpOverStdio(executor: ToolExecutor, options: McpStdioOptions = {}): Promise<McpServer> {
  const mcp = createMcpServer(executor, options);
  const limit = options.maxMessageBytes ?? STDIO_DEFAULT_MAX_BUFFER_SIZE;
  const transport = new StdioServerTransport(options.stdin, options.stdout, { maxBufferSize: limit });
  // Set before connect: the protocol layer chains its own handler after this one.
  transport.onerror = (error) => {
    if (!/exceeded maximum size/.test(error.message)) return;
    const fatal = new ToolError({
      code: 'INVALID_ARGUMENTS',
      message: `an MCP message was larger than the limit of ${limit} bytes, so the session was closed`,
      fix: 'send smaller messages (e.g. write large content to a file in several calls)',
      cause: error,
    });
    void transport.send({ jsonrpc: '2.0', id: null, error: { code: invalidRequest, message: fatal.message } } as never);
    options.onFatal?.(fatal);
  };
  await mcp.connect(transport);
  return mcp;
}
