import { spawn } from 'node:child_process';
import { appendFile, link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox';
import { MemoryStore } from './memory-store';
import { addEntitiesTool, addObservationsTool, addRelationsTool, memoryQueryTool } from './memory-tools';

let root: string;
let sandbox: Sandbox;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'unity-memory-'));
  sandbox = new Sandbox(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const call = (id: string) => ({ call: { id, name: 'x', arguments: {}, rawArguments: '{}' } });

describe('memory tools', () => {
  it('adds entities, observations and relations, and finds them by text with their relations', async () => {
    const store = new MemoryStore(sandbox);
    expect(
      await addEntitiesTool(store).execute(
        {
          entities: [
            { name: 'Alice', type: 'person', observations: ['writes the router'] },
            { name: 'Acme', type: 'company' },
          ],
        },
        call('c1'),
      ),
    ).toBe('created Alice, Acme');
    expect(
      await addObservationsTool(store).execute(
        { observations: [{ entity: 'alice', contents: ['likes Rust'] }] },
        call('c2'),
      ),
    ).toBe('added 1 observation');
    expect(
      await addRelationsTool(store).execute(
        { relations: [{ from: 'Alice', to: 'Acme', type: 'works_at' }] },
        call('c3'),
      ),
    ).toBe('added 1 relation');
    const text = await memoryQueryTool(store).execute({ query: 'rust', max: 20 }, {});
    expect(text).toMatch(
      /- Alice \(person\)\n {4}• writes the router {2}\[[^\]]+, call c1\]\n {4}• likes Rust {2}\[[^\]]+, call c2\]/,
    );
    expect(text).toContain('- Alice --works_at--> Acme');
    expect(text).not.toContain('Acme (company)');
  });

  it('filters by name and by type', async () => {
    const store = new MemoryStore(sandbox);
    await store.addEntities([
      { name: 'a', type: 'file' },
      { name: 'b', type: 'person' },
    ]);
    expect((await store.query({ type: 'FILE' })).entities.map((e) => e.name)).toEqual(['a']);
    expect((await store.query({ name: 'B' })).entities.map((e) => e.name)).toEqual(['b']);
    expect(await memoryQueryTool(store).execute({ query: 'nothing-like-this', max: 20 }, {})).toBe(
      'no matching entities in memory',
    );
  });

  it('refuses observations and relations of unknown entities, writing nothing', async () => {
    const store = new MemoryStore(sandbox);
    await store.addEntities([{ name: 'known', type: 't' }]);
    await expect(store.addObservations([{ entity: 'ghost', observations: ['x'] }])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/no entity named "ghost"/),
      fix: expect.stringMatching(/add_entities/),
    });
    await expect(store.addRelations([{ from: 'known', to: 'ghost', type: 'r' }])).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const log = await readFile(path.join(root, '.unity/memory.jsonl'), 'utf8');
    expect(log.trim().split('\n')).toHaveLength(1);
  });

  it('does not repeat a known relation', async () => {
    const store = new MemoryStore(sandbox);
    await store.addEntities([
      { name: 'a', type: 't' },
      { name: 'b', type: 't' },
    ]);
    await store.addRelations([{ from: 'a', to: 'b', type: 'r' }]);
    expect(await store.addRelations([{ from: 'A', to: 'B', type: 'r' }])).toEqual({ added: 0, existing: 1 });
  });

  it('records when and from which call and run each fact came, in an append-only JSONL log', async () => {
    const store = new MemoryStore(sandbox, { file: 'notes/graph.jsonl' });
    await store.addEntities([{ name: 'x', type: 't', observations: ['first'] }], { call: 'call-1', run: 'run-9' });
    const records = (await readFile(path.join(root, 'notes/graph.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toEqual([
      { kind: 'entity', name: 'x', type: 't', at: expect.any(String), call: 'call-1', run: 'run-9' },
      { kind: 'observation', entity: 'x', text: 'first', at: expect.any(String), call: 'call-1', run: 'run-9' },
    ]);
    expect(Date.parse(records[0].at)).not.toBeNaN();
  });

  it('skips a corrupted line and reads the rest', async () => {
    const store = new MemoryStore(sandbox);
    await store.addEntities([{ name: 'a', type: 't' }]);
    await appendFile(path.join(root, '.unity/memory.jsonl'), '{"kind":"entity","na\n');
    await store.addEntities([{ name: 'b', type: 't' }]);
    const fresh = new MemoryStore(sandbox);
    expect((await fresh.query()).entities.map((e) => e.name)).toEqual(['a', 'b']);
    expect(fresh.corruptLines).toBe(1);
  });

  it('sees what another store appended', async () => {
    const one = new MemoryStore(sandbox);
    const two = new MemoryStore(sandbox);
    await one.addEntities([{ name: 'a', type: 't' }]);
    await two.addObservations([{ entity: 'a', observations: ['from two'] }]);
    expect((await one.query({ name: 'a' })).entities[0]?.observations.map((o) => o.text)).toEqual(['from two']);
  });
});

describe('memory log on disk', () => {
  it('refuses to append to a hard-linked log, leaving the other name unchanged', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'unity-memory-outside-'));
    try {
      await writeFile(path.join(outside, 'victim.txt'), 'victim\n');
      await mkdir(path.join(root, '.unity'));
      await link(path.join(outside, 'victim.txt'), path.join(root, '.unity', 'memory.jsonl'));
      const store = new MemoryStore(sandbox);
      await expect(store.addEntities([{ name: 'x', type: 't' }])).rejects.toMatchObject({
        code: 'DENIED',
        message: expect.stringMatching(/hard-linked/),
      });
      expect(await readFile(path.join(outside, 'victim.txt'), 'utf8')).toBe('victim\n');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('neither reads nor writes a log whose folder links outside the root', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'unity-memory-outside-'));
    try {
      const record = { kind: 'entity', name: 'outsider', type: 'secret', at: new Date(0).toISOString() };
      await writeFile(path.join(outside, 'memory.jsonl'), `${JSON.stringify(record)}\n`);
      await symlink(outside, path.join(root, '.unity'));
      const store = new MemoryStore(sandbox);
      await expect(store.query()).rejects.toMatchObject({ code: 'PATH_OUTSIDE_ROOT' });
      await expect(store.addEntities([{ name: 'x', type: 't' }])).rejects.toMatchObject({ code: 'PATH_OUTSIDE_ROOT' });
      expect(await readdir(outside)).toEqual(['memory.jsonl']);
      expect(await readFile(path.join(outside, 'memory.jsonl'), 'utf8')).toBe(`${JSON.stringify(record)}\n`);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('memory log with two processes', () => {
  it('loses and corrupts nothing when two processes add 1,000 observations each', { timeout: 120_000 }, async () => {
    const writer = fileURLToPath(new URL('../__tests__/memory-writer.ts', import.meta.url));
    const repo = fileURLToPath(new URL('../../../../', import.meta.url));
    const run = (who: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--conditions=@unity/source', '--import', 'tsx', writer, root, who, '1000'],
          {
            cwd: repo,
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`writer ${who} exited ${code}: ${stderr}`)),
        );
      });
    await Promise.all([run('A'), run('B')]);

    const lines = (await readFile(path.join(root, '.unity/memory.jsonl'), 'utf8')).split('\n');
    expect(lines.pop()).toBe(''); // ends with a newline: no half-written last line
    const records = lines.map((l) => JSON.parse(l) as { kind: string; text?: string; call?: string });
    const observations = records.filter((r) => r.kind === 'observation');
    expect(observations).toHaveLength(2000);
    for (const who of ['A', 'B']) {
      const texts = new Set(observations.filter((o) => o.call?.startsWith(`${who}-`)).map((o) => o.text));
      expect(texts.size).toBe(1000);
      expect(texts.has(`${who} observation 999`)).toBe(true);
    }
    const store = new MemoryStore(sandbox);
    expect((await store.query({ name: 'shared' })).entities[0]?.observations).toHaveLength(2000);
    expect(store.corruptLines).toBe(0);
  });
});
