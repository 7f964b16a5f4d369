import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { version } from '../version';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;

let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'unity-mcp-'));
  root = path.join(base, 'work');
  await mkdir(root);
  await writeFile(path.join(root, 'hello.txt'), 'hello from the workspace\n');
  await writeFile(path.join(base, 'secret.txt'), 'OUTSIDE-SECRET');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

type TextResult = { isError?: boolean; content: Array<{ type: string; text?: string }> };
const text = (result: unknown) => (result as TextResult).content.map((c) => c.text ?? '').join('');

describe('unity mcp (built binary, SDK client over stdio)', () => {
  it('lists the tools and serves calls, returning refusals as isError results', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, 'mcp', '--root', root],
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'unity', version });
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(
        [
          'add_entities',
          'add_observations',
          'add_relations',
          'execute_command',
          'list_files',
          'memory_query',
          'read_file',
          'search_files',
          'web_search',
          'write_file',
        ].sort(),
      );
      expect(tools.find((t) => t.name === 'read_file')?.inputSchema).toMatchObject({
        type: 'object',
        properties: { path: { type: 'string' } },
        required: ['path'],
      });

      const read = await client.callTool({ name: 'read_file', arguments: { path: 'hello.txt' } });
      expect(read.isError).toBe(false);
      expect(text(read)).toBe('     1\thello from the workspace');

      const written = await client.callTool({
        name: 'write_file',
        arguments: { path: 'out/new.txt', content: 'made over MCP' },
      });
      expect(written.isError).toBe(false);
      expect(await readFile(path.join(root, 'out/new.txt'), 'utf8')).toBe('made over MCP');

      const found = await client.callTool({ name: 'search_files', arguments: { pattern: 'over MCP' } });
      expect(text(found)).toBe('out/new.txt:1:made over MCP');

      const escaped = await client.callTool({ name: 'read_file', arguments: { path: '../secret.txt' } });
      expect(escaped.isError).toBe(true);
      expect(text(escaped)).toMatch(/refused path "\.\.\/secret\.txt".*Allowed root:/s);
      expect(text(escaped)).not.toContain('OUTSIDE-SECRET');

      const bad = await client.callTool({ name: 'read_file', arguments: { path: 7 } });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toContain('path: expected string, got number');

      const unknown = await client.callTool({ name: 'delete_everything', arguments: {} });
      expect(unknown.isError).toBe(true);
      expect(text(unknown)).toMatch(/unknown tool "delete_everything"/);

      const command = await client.callTool({ name: 'execute_command', arguments: { command: 'ls' } });
      expect(text(command)).toMatch(/^exit code 0\nhello.txt\nout\n/);

      const unapproved = await client.callTool({ name: 'execute_command', arguments: { command: 'node -e 1' } });
      expect(unapproved.isError).toBe(true);
      expect(text(unapproved)).toMatch(/needs approval/);

      const search = await client.callTool({ name: 'web_search', arguments: { query: 'x' } });
      expect(search.isError).toBe(true);
      expect(text(search)).toMatch(/no search provider configured/);

      await client.callTool({
        name: 'add_entities',
        arguments: { entities: [{ name: 'MCP', type: 'protocol', observations: ['works'] }] },
      });
      const memory = await client.callTool({ name: 'memory_query', arguments: { query: 'works' } });
      expect(text(memory)).toMatch(/- MCP \(protocol\)\n {4}• works/);
    } finally {
      await client.close();
    }
  });

  it('writes nothing but protocol messages on stdout', async () => {
    const child = spawn(process.execPath, [bin, 'mcp', '--root', root], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    child.stdin.write(`${JSON.stringify(initialize)}\n`);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/etc/passwd' } } })}\n`,
    );
    await new Promise<void>((resolve) => {
      const check = () => (stdout.split('\n').filter(Boolean).length >= 2 ? resolve() : setTimeout(check, 20));
      check();
    });
    child.stdin.end();
    const code = await new Promise((resolve) => child.on('exit', resolve));
    const lines = stdout.split('\n').filter(Boolean);
    const messages = lines.map((l) => JSON.parse(l) as { id: number; result: TextResult });
    expect(messages.map((m) => m.id)).toEqual([1, 2]);
    expect(messages[1]?.result.isError).toBe(true);
    expect(code).toBe(0);
  });

  async function refused(configText: string, name: string): Promise<{ code: unknown; stderr: string; stdout: string }> {
    const config = path.join(base, name);
    await writeFile(config, configText);
    const child = spawn(process.execPath, [bin, 'mcp', '--root', root, '--config', config], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    return { code, stderr: stderr.replaceAll(`${config}`, name), stdout };
  }

  it('refuses an invalid tools: section with its file, line and field, before serving', async () => {
    const out = await refused('tools:\n  command_policy:\n    unknown: sometimes\n', 'system.yaml');
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('system.yaml:3: tools.command_policy.unknown: expected one of "approve", "deny"');
    expect(out.stdout).toBe('');
  });

  it('refuses the old JSON tools file, saying where each setting moved', async () => {
    const out = await refused(JSON.stringify({ commandPolicy: { unknown: 'deny' } }), 'tools.json');
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('tools.json: commandPolicy is the old JSON tools configuration');
    expect(out.stderr).toContain('commandPolicy → tools.command_policy');
    expect(out.stdout).toBe('');
  });
});
