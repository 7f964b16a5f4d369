// The symlink-swap race on the file tools (issue 12, "File tools without check-then-use races").
//
// A child process keeps swapping two folders inside the workspace for symbolic links to folders outside it: `swap/`
// (whose outside twin holds a secret file and a name that exists only outside) and `.unity/` (whose outside twin holds
// a memory log with a secret entity). Meanwhile the file tools are called thousands of times through
// `createToolExecutor`, each for a few seconds. A tool that checks a path and then uses it again by name can be sent
// outside between the two; the tools must make the check and the use the same act, so nothing leaks.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createToolExecutor, type ToolExecutor, type ToolResult } from '@unity/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** How long each tool is hammered. */
const PHASE_MS = Number(process.env.UNITY_RACE_PHASE_MS ?? 3000);
const SECRET = 'OUTSIDE-SECRET-7f3a91';
const OUTSIDE_ONLY = 'outside-only-name.txt';

/** The swapper: `node -e SWAPPER stopFile root:outside[,root:outside…]`; prints how many swaps it made. */
const SWAPPER = `
const fs = require('node:fs');
const [stopFile, spec] = process.argv.slice(1);
const pairs = spec.split(',').map((p) => p.split('|'));
const deadline = Date.now() + 120000;
let swaps = 0;
for (let i = 0; ; i++) {
  if (i % 64 === 0 && (fs.existsSync(stopFile) || Date.now() > deadline)) break;
  for (const [dir, outside] of pairs) {
    const hold = dir + '-hold';
    try {
      fs.renameSync(dir, hold);
      fs.symlinkSync(outside, dir);
      for (let j = 0; j < 50; j++) fs.lstatSync(dir);
      fs.unlinkSync(dir);
      fs.renameSync(hold, dir);
      swaps++;
    } catch {
      // A tool created the folder while it was away: move that one aside (it stays inside) and put ours back.
      try { if (fs.lstatSync(dir).isSymbolicLink()) fs.unlinkSync(dir); } catch {}
      try { fs.renameSync(hold, dir); } catch {
        try { fs.renameSync(dir, dir + '-stray-' + i); fs.renameSync(hold, dir); } catch {}
      }
    }
  }
}
process.stdout.write(String(swaps));
`;

let base: string;
let root: string;
let outside: string;
let outsideMemory: string;
let stopFile: string;
let swapper: ChildProcess;
let swapperOutput: Promise<string>;
let executor: ToolExecutor;

/** Every file and folder below `dir`, relative to it. */
function tree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const rel = `${prefix}${d.name}`;
    return d.isDirectory() ? [rel, ...tree(path.join(dir, d.name), `${rel}/`)] : [rel];
  });
}

let callId = 0;
function calls(name: string, args: Record<string, unknown>, n = 1) {
  return Array.from({ length: n }, () => ({
    id: `c${++callId}`,
    name,
    arguments: args,
    rawArguments: JSON.stringify(args),
  }));
}

/**
 * Run batches of calls for PHASE_MS; count the results `leaks` says leaked, plus what `leakedOnDisk` finds after each
 * batch (files that writes created or changed outside).
 */
async function hammer(
  tool: string,
  makeBatch: (round: number) => ReturnType<typeof calls>,
  leaks: (result: ToolResult) => boolean,
  leakedOnDisk: () => number = () => 0,
): Promise<{ calls: number; ok: number; leaked: number; example?: string }> {
  const stats: { calls: number; ok: number; leaked: number; example?: string } = { calls: 0, ok: 0, leaked: 0 };
  const end = performance.now() + PHASE_MS;
  for (let round = 0; performance.now() < end; round++) {
    for (const result of await executor.execute(makeBatch(round))) {
      stats.calls++;
      if (result.ok) stats.ok++;
      if (leaks(result)) {
        stats.leaked++;
        stats.example ??= result.content.slice(0, 300);
      }
    }
    stats.leaked += leakedOnDisk();
  }
  // The figures the attack suite reports: calls made, calls that succeeded (inside), calls that leaked.
  console.info(`fs-race ${tool}: ${stats.calls} calls, ${stats.ok} ok, ${stats.leaked} leaked`);
  return stats;
}

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'unity-fs-race-'));
  root = path.join(base, 'app');
  outside = path.join(base, 'outside');
  outsideMemory = path.join(base, 'outside-memory');
  stopFile = path.join(base, 'stop');
  await mkdir(path.join(root, 'swap', 'sub'), { recursive: true });
  await mkdir(path.join(root, '.unity'), { recursive: true });
  await mkdir(path.join(outside, 'sub'), { recursive: true });
  await mkdir(outsideMemory, { recursive: true });
  // Inside: the same names as outside (so a swapped path exists either way) with harmless content.
  await writeFile(path.join(root, 'swap', 'secret.txt'), 'harmless inside text\n');
  await writeFile(path.join(root, 'swap', 'sub', 'secret.txt'), 'harmless inside text\n');
  await writeFile(path.join(root, 'swap', 'inside-only.txt'), 'inside\n');
  await writeFile(path.join(root, 'readme.txt'), 'the workspace\n');
  await writeFile(path.join(outside, 'secret.txt'), `${SECRET}\n`);
  await writeFile(path.join(outside, 'sub', 'secret.txt'), `${SECRET}\n`);
  await writeFile(path.join(outside, OUTSIDE_ONLY), `${SECRET}\n`);
  const at = new Date(0).toISOString();
  await writeFile(
    path.join(outsideMemory, 'memory.jsonl'),
    `${JSON.stringify({ kind: 'entity', name: SECRET, type: 'secret', at })}\n` +
      `${JSON.stringify({ kind: 'observation', entity: SECRET, text: SECRET, at })}\n`,
  );
  executor = createToolExecutor({ root, callTimeoutMs: 15_000 });
  await executor.execute(calls('add_entities', { entities: [{ name: 'project', type: 'thing' }] }));

  const pairs = [`${path.join(root, 'swap')}|${outside}`, `${path.join(root, '.unity')}|${outsideMemory}`];
  swapper = spawn(process.execPath, ['-e', SWAPPER, stopFile, pairs.join(',')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  swapperOutput = new Promise((resolve) => {
    let out = '';
    swapper.stdout?.on('data', (chunk) => {
      out += String(chunk);
    });
    swapper.on('close', () => resolve(out));
  });
});

afterAll(async () => {
  writeFileSync(stopFile, '');
  const timer = setTimeout(() => swapper?.kill('SIGKILL'), 5000);
  await swapperOutput;
  clearTimeout(timer);
  await rm(base, { recursive: true, force: true });
});

const outsideBefore = () => ({
  files: tree(outside).sort(),
  secret: readFileSync(path.join(outside, 'secret.txt'), 'utf8'),
});

describe('the symlink-swap race on the file tools', () => {
  it('read_file never returns the content of a file outside the root', async () => {
    const result = await hammer(
      'read_file',
      () => [
        ...calls('read_file', { path: 'swap/secret.txt' }, 4),
        ...calls('read_file', { path: 'swap/sub/secret.txt' }, 4),
      ],
      (r) => r.content.includes(SECRET),
    );
    expect(result.leaked, `read_file leaked ${result.leaked} of ${result.calls} reads: ${result.example}`).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
  });

  it('list_files never lists a folder outside the root', async () => {
    const result = await hammer(
      'list_files',
      (round) =>
        round % 2 === 0
          ? calls('list_files', { path: 'swap' }, 4)
          : calls('list_files', { path: '.', recursive: true }, 4),
      (r) => r.content.includes(OUTSIDE_ONLY),
    );
    expect(result.leaked, `list_files leaked ${result.leaked} of ${result.calls} listings: ${result.example}`).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
  });

  it('search_files never searches a file outside the root', async () => {
    const result = await hammer(
      'search_files',
      (round) =>
        round % 2 === 0
          ? calls('search_files', { pattern: 'SECRET', path: 'swap' }, 4)
          : calls('search_files', { pattern: 'SECRET' }, 4),
      (r) => r.content.includes(SECRET) || r.content.includes(OUTSIDE_ONLY),
    );
    expect(result.leaked, `search_files leaked ${result.leaked} of ${result.calls} searches: ${result.example}`).toBe(
      0,
    );
    expect(result.ok).toBeGreaterThan(100);
  });

  it('write_file never creates or changes a file outside the root', async () => {
    const before = outsideBefore();
    let seen = before.files.length;
    const result = await hammer(
      'write_file',
      (round) => [
        ...calls('write_file', { path: `swap/w-${round}.txt`, content: 'written' }),
        ...calls('write_file', { path: 'swap/secret.txt', content: 'harmless inside text\n' }),
        ...calls('write_file', { path: `swap/new-${round}/deep/w.txt`, content: 'written' }),
      ],
      () => false,
      () => {
        const now = tree(outside).length;
        const fresh = now - seen;
        seen = now;
        return fresh;
      },
    );
    const after = outsideBefore();
    const created = after.files.filter((f) => !before.files.includes(f));
    expect(created, `write_file created ${created.length} entries outside in ${result.calls} writes`).toEqual([]);
    expect(after.secret).toBe(before.secret);
    expect(result.ok).toBeGreaterThan(100);
  });

  it('the memory tools never read or write the memory of a folder outside the root', async () => {
    const log = path.join(outsideMemory, 'memory.jsonl');
    const before = { files: tree(outsideMemory).sort(), log: readFileSync(log, 'utf8') };
    let seen = { files: before.files.length, bytes: before.log.length };
    const result = await hammer(
      'memory tools',
      (round) => [
        ...calls('memory_query', {}, 4),
        ...calls('add_entities', { entities: [{ name: `e${round}`, type: 'thing' }] }),
        ...calls('add_observations', { observations: [{ entity: `e${round}`, contents: [`fact ${round}`] }] }),
      ],
      (r) => r.content.includes(SECRET),
      () => {
        const now = { files: tree(outsideMemory).length, bytes: readFileSync(log, 'utf8').length };
        const fresh = now.files - seen.files + (now.bytes > seen.bytes ? 1 : 0);
        seen = now;
        return fresh;
      },
    );
    const after = { files: tree(outsideMemory).sort(), log: readFileSync(log, 'utf8') };
    const created = after.files.filter((f) => !before.files.includes(f));
    expect
      .soft(result.leaked, `the memory tools leaked ${result.leaked} times in ${result.calls} calls: ${result.example}`)
      .toBe(0);
    expect.soft(created, `the memory tools created ${created.join(', ')} outside`).toEqual([]);
    expect.soft(after.log.length - before.log.length, 'bytes appended to the outside memory log').toBe(0);
    expect(result.ok).toBeGreaterThan(100);
  });

  it('the swapper really raced the tools', async () => {
    writeFileSync(stopFile, '');
    const swaps = Number(await swapperOutput);
    expect(swaps).toBeGreaterThan(100);
    expect(existsSync(path.join(root, 'swap', 'secret.txt'))).toBe(true);
  });
});
