import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ToolCall } from '@unity/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, type Tool } from './define-tool';
import { createToolExecutor, type ToolEvent } from './tool-executor';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'unity-exec-'));
  await writeFile(path.join(root, 'a.txt'), 'alpha\n');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

let seq = 0;
const call = (name: string, args: Record<string, unknown> = {}): ToolCall => ({
  id: `call-${++seq}`,
  name,
  arguments: args,
  rawArguments: JSON.stringify(args),
});

/** Resolves when `count` parties have arrived: a read-only call that waits for another proves they overlap. */
function barrier(count: number) {
  let arrived = 0;
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return async () => {
    arrived++;
    if (arrived === count) open();
    await opened;
  };
}

describe('createToolExecutor', () => {
  it('offers the seven tools and the memory operations with JSON Schemas', () => {
    const definitions = createToolExecutor({ root }).definitions();
    expect(definitions.map((d) => d.name)).toEqual([
      'read_file',
      'write_file',
      'list_files',
      'search_files',
      'execute_command',
      'web_search',
      'memory_query',
      'add_entities',
      'add_relations',
      'add_observations',
    ]);
    const read = definitions[0];
    expect(read?.parameters).toMatchObject({
      type: 'object',
      properties: { path: { type: 'string' } },
      required: ['path'],
    });
    expect(JSON.stringify(definitions)).not.toContain('$schema');
  });

  it('answers an unknown tool with the nearest name', async () => {
    const [result] = await createToolExecutor({ root }).execute([call('read_flie', { path: 'a.txt' })]);
    expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TOOL' } });
    expect(result?.content).toMatch(/^unknown tool "read_flie"; did you mean read_file\?/);
  });

  it('shows the model a refused call with its fix, and keeps the bare message in error', async () => {
    const [result] = await createToolExecutor({ root }).execute([call('read_file', { path: '../outside.txt' })]);
    expect(result).toMatchObject({ ok: false, error: { code: 'PATH_OUTSIDE_ROOT' } });
    expect(result?.content).toMatch(/\nFix: .+/);
    expect(result?.error?.message).not.toContain('Fix:');
    expect(result?.content.startsWith(result?.error?.message ?? '-')).toBe(true);
  });

  it('answers invalid arguments with the field, what was expected and what came', async () => {
    const [result] = await createToolExecutor({ root }).execute([call('read_file', { path: 42 })]);
    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENTS' } });
    expect(result?.content).toContain('path: expected string, got number');
  });

  it('returns results in call order with their ids', async () => {
    const calls = [
      call('read_file', { path: 'a.txt' }),
      call('write_file', { path: 'b.txt', content: 'b' }),
      call('list_files'),
    ];
    const results = await createToolExecutor({ root }).execute(calls);
    expect(results.map((r) => [r.toolCallId, r.name, r.ok])).toEqual(calls.map((c) => [c.id, c.name, true]));
    expect(results[2]?.content).toContain('b.txt');
  });

  it('runs independent read-only calls in parallel', async () => {
    const meet = barrier(2);
    const reader = defineTool({
      name: 'reader',
      description: 'waits for the other reader',
      schema: z.object({}),
      readOnly: true,
      execute: async () => {
        await meet();
        return 'met';
      },
    });
    const results = await createToolExecutor({ root, tools: [reader as Tool], callTimeoutMs: 5_000 }).execute([
      call('reader'),
      call('reader'),
    ]);
    expect(results.map((r) => r.content)).toEqual(['met', 'met']);
  });

  it('runs calls that change things one at a time, in order', async () => {
    const log: string[] = [];
    let active = 0;
    let overlapped = false;
    const writer = defineTool({
      name: 'writer',
      description: 'records its turn',
      schema: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        active++;
        if (active > 1) overlapped = true;
        log.push(`start ${n}`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`end ${n}`);
        active--;
        return String(n);
      },
    });
    await createToolExecutor({ root, tools: [writer as Tool] }).execute([
      call('writer', { n: 1 }),
      call('writer', { n: 2 }),
    ]);
    expect(overlapped).toBe(false);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('stops a call at the per-call timeout and says which limit', async () => {
    const hang = defineTool({
      name: 'hang',
      description: 'never ends',
      schema: z.object({}),
      execute: () => new Promise<string>(() => {}),
    });
    const [result] = await createToolExecutor({ root, tools: [hang as Tool], callTimeoutMs: 50 }).execute([
      call('hang'),
    ]);
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(result?.content).toMatch(/did not finish within 50 ms \(callTimeoutMs\)/);
  });

  it('reports a call cancelled by the caller', async () => {
    const controller = new AbortController();
    controller.abort();
    const [result] = await createToolExecutor({ root }).execute([call('read_file', { path: 'a.txt' })], {
      signal: controller.signal,
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'ABORTED' } });
  });

  it('truncates a large result with a note', async () => {
    await writeFile(path.join(root, 'big.txt'), 'x'.repeat(200).concat('\n').repeat(100));
    const [result] = await createToolExecutor({ root, maxResultChars: 1000 }).execute([
      call('read_file', { path: 'big.txt' }),
    ]);
    expect(result?.truncated).toBe(true);
    expect(result?.content).toMatch(/\[result truncated: the first 1000 of \d+ characters are shown/);
    expect(result?.content.length).toBeLessThan(1200);
  });

  it('turns an unexpected failure into a result instead of throwing', async () => {
    const broken = defineTool({
      name: 'broken',
      description: 'throws',
      schema: z.object({}),
      execute: async () => {
        throw new TypeError('x is not a function');
      },
    });
    const [result] = await createToolExecutor({ root, tools: [broken as Tool] }).execute([call('broken')]);
    expect(result).toMatchObject({ ok: false, error: { code: 'FAILED', message: 'broken: x is not a function' } });
  });

  it('emits a start and a finish event per call, with ms, ok and the error code', async () => {
    const events: ToolEvent[] = [];
    const calls = [call('read_file', { path: 'a.txt' }), call('read_file', { path: '../x' })];
    await createToolExecutor({ root, onEvent: (e) => events.push(e) }).execute(calls, { callId: 'run-1' });
    expect(events.filter((e) => e.type === 'start')).toHaveLength(2);
    const finishes = events.filter((e) => e.type === 'finish');
    expect(finishes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ toolCallId: calls[0]?.id, ok: true, runId: 'run-1', ms: expect.any(Number) }),
        expect.objectContaining({ toolCallId: calls[1]?.id, ok: false, errorCode: 'PATH_OUTSIDE_ROOT' }),
      ]),
    );
  });

  it('passes the approve hook the call and the reason', async () => {
    const requests: Array<{ call: ToolCall; reason: string }> = [];
    const executor = createToolExecutor({
      root,
      approve: async (request) => {
        requests.push(request);
        return false;
      },
    });
    const c = call('execute_command', { command: 'node -e 1' });
    const [result] = await executor.execute([c]);
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_APPROVED' } });
    expect(requests[0]?.call).toBe(c);
    expect(requests[0]?.reason).toMatch(/not on the allow list/);
  });

  it('records the call id and run id with a memory observation', async () => {
    const executor = createToolExecutor({ root });
    const add = call('add_entities', { entities: [{ name: 'n', type: 't', observations: ['o'] }] });
    await executor.execute([add], { callId: 'run-7' });
    const [result] = await executor.execute([call('memory_query', { name: 'n' })]);
    expect(result?.content).toContain(`call ${add.id}`);
  });
});
