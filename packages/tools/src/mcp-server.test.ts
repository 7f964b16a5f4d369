import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, type Tool } from './define-tool';
import type { ToolError } from './errors';
import { createMcpServer, serveMcpOverStdio } from './mcp-server';
import { createToolExecutor } from './tool-executor';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'unity-mcp-lib-'));
  await writeFile(path.join(root, 'a.txt'), 'alpha\n');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function connect(tools?: Tool[]) {
  const server = createMcpServer(createToolExecutor({ root, ...(tools ? { tools } : {}) }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]?.text;

describe('createMcpServer', () => {
  it('lists the executor tools with their JSON Schemas', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(10);
    expect(tools.find((t) => t.name === 'search_files')?.inputSchema.required).toEqual(['pattern']);
    await client.close();
  });

  it('returns a result, and a refusal as isError rather than a protocol error', async () => {
    const client = await connect();
    const ok = await client.callTool({ name: 'read_file', arguments: { path: 'a.txt' } });
    expect(ok).toMatchObject({ isError: false });
    expect(textOf(ok)).toBe('     1\talpha');
    const refused = await client.callTool({ name: 'write_file', arguments: { path: '/etc/evil', content: 'x' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/absolute path outside the workspace/);
    await client.close();
  });

  it('answers a tool that crashes with isError and keeps serving', async () => {
    const crash = defineTool({
      name: 'crash',
      description: 'throws',
      schema: z.object({}),
      execute: async () => {
        throw new RangeError('boom');
      },
    });
    const client = await connect([crash as Tool]);
    const result = await client.callTool({ name: 'crash', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('crash: boom');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['crash']);
    await client.close();
  });
});

describe('serveMcpOverStdio', () => {
  it('answers a message over the size limit with a JSON-RPC error and reports it as fatal', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (chunk) => {
      out += String(chunk);
    });
    const fatal = new Promise<ToolError>((resolve) => {
      void serveMcpOverStdio(createToolExecutor({ root }), { stdin, stdout, maxMessageBytes: 1024, onFatal: resolve });
    });
    stdin.write('x'.repeat(2048));
    const error = await fatal;
    expect(error.message).toContain('larger than the limit of 1024 bytes');
    const reply = JSON.parse(out.split('\n')[0] ?? '') as { id: unknown; error: { code: number; message: string } };
    expect(reply).toMatchObject({ id: null, error: { code: -32600 } });
    expect(reply.error.message).toContain('1024 bytes');
  });
});
