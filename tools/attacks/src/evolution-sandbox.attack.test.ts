// Attacks by evolution candidates on their evaluators: every candidate is code a model wrote, run by `node eval.mjs`.
// A candidate must score what it is worth, whatever it does to the machine while it is evaluated.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ChatModel, UnityError } from '@unity/core';
import { commandEvaluator, type Evaluator, evolve, rewriteStrategy } from '@unity/textgrad';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'parent-secret-51d2e0';
const evalScript = `import { pathToFileURL } from 'node:url';
const m = await import(pathToFileURL(process.argv[2]).href);
console.log(JSON.stringify({ score: m.value, feedback: String(m.note ?? '') }));
`;

let base: string;
let project: string;
let tcpServer: Server;
let tcpPort: number;
const hits: string[] = [];
/** Unique per run, so that nothing a machine kept from an earlier run can fail this one. */
const runTag = `${process.pid}-${Date.now()}`;
const pwned = () => path.join(tmpdir(), `unity-attack-evolution-pwned-${runTag}`);

function evaluator(): Evaluator {
  return commandEvaluator({
    command: 'node eval.mjs',
    files: { 'eval.mjs': evalScript },
    timeoutMs: 5000,
    // As the CLI does: the whole parent environment, plus secrets it must never pass on.
    env: {
      ...process.env,
      DATABASE_URL: `postgres://u:${SECRET}@db/app`,
      OPENAI_API_KEY: SECRET,
      AWS_SECRET_ACCESS_KEY: SECRET,
    },
  });
}

const score = async (source: string) =>
  (await evaluator().evaluate(source, { fileName: 'candidate.mjs', candidateId: 'attack' })).score;
const feedback = async (source: string) =>
  (await evaluator().evaluate(source, { fileName: 'candidate.mjs', candidateId: 'attack' })).feedback ?? '';

/** A daemon that outlives the candidate and rewrites every evaluation folder it can find to score 100. */
const daemonCandidate = () => `import { spawn } from 'node:child_process';
const script = ${JSON.stringify(`
const fs = require('fs'), path = require('path');
const roots = ['/tmp', ${JSON.stringify(tmpdir())}, process.argv[1]];
setInterval(() => {
  for (const r of roots) {
    try {
      for (const e of fs.readdirSync(r)) {
        if (e.startsWith('unity-eval-')) try { fs.writeFileSync(path.join(r, e, 'eval.mjs'), 'console.log(100)'); } catch {}
      }
    } catch {}
  }
  try { fs.writeFileSync(${JSON.stringify(pwned())}, 'daemon'); } catch {}
}, 5);
`)};
// Its folder is removed after the evaluation: the daemon starts elsewhere and is told where the folders are.
const parent = process.cwd().split('/').slice(0, -1).join('/') || '/';
spawn(process.execPath, ['-e', script, parent], { detached: true, stdio: 'ignore', cwd: '/' }).unref();
spawn('sh', ['-c', 'setsid sh -c "sleep 30" &'], { stdio: 'ignore' });
export const value = 1;
`;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'unity-attack-evo-'));
  project = path.join(base, 'project');
  mkdirSync(project);
  writeFileSync(path.join(project, 'secret.txt'), SECRET);
  tcpServer = createServer((s) => {
    hits.push('tcp');
    s.end(SECRET);
  });
  await new Promise<void>((r) => tcpServer.listen(0, '127.0.0.1', r));
  tcpPort = (tcpServer.address() as AddressInfo).port;
});

afterAll(() => {
  tcpServer.close();
  rmSync(base, { recursive: true, force: true });
  rmSync(pwned(), { force: true });
});

describe('reward hacking through a process left behind', () => {
  it('a daemon started by one candidate cannot raise the next candidate’s score', async () => {
    expect(await score(daemonCandidate())).toBe(1);
    for (let i = 0; i < 5; i++) expect(await score('export const value = 40;')).toBe(40);
    expect(existsSync(pwned())).toBe(false);
  });

  it('nor that of a candidate evaluated at the same time', async () => {
    const [, ...honest] = await Promise.all([
      score(daemonCandidate()),
      ...Array.from({ length: 3 }, () =>
        score('await new Promise((r) => setTimeout(r, 300)); export const value = 40;'),
      ),
    ]);
    expect(honest).toEqual([40, 40, 40]);
    expect(existsSync(pwned())).toBe(false);
  });

  it('through a whole evolution run, the hostile variant does not become the best', async () => {
    const variants = [daemonCandidate(), 'export const value = 40;', 'export const value = 41;'];
    const coder: ChatModel = {
      chat: async () => ({
        content: `\`\`\`js\n${variants.shift() ?? 'export const value = 42;'}\n\`\`\``,
        toolCalls: [],
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        finishReason: 'stop',
        model: 'scripted',
      }),
    };
    const result = await evolve({
      baseline: 'export const value = 10;',
      fileName: 'candidate.mjs',
      evaluator: evaluator(),
      coder,
      strategies: [rewriteStrategy],
      generations: 3,
    });
    expect(result.best.score).toBe(41);
  });
});

describe('a candidate reaching outside its evaluation', () => {
  const attacks = [
    [
      'writes outside its folder: the host /tmp, a sibling project, the parent folder',
      `import fs from 'node:fs';
for (const p of [${JSON.stringify(pwned())}, ${JSON.stringify('PROJECT/planted')}, '../planted-by-candidate-RUN_TAG']) {
  try { fs.writeFileSync(p, 'x'); } catch {}
}
export const value = 5;`,
    ],
    [
      'reads a sibling project and /etc/shadow',
      `import fs from 'node:fs';
let note = '';
for (const p of [${JSON.stringify('PROJECT/secret.txt')}, '/etc/shadow', '/root/.bash_history']) {
  try { note += fs.readFileSync(p, 'utf8'); } catch {}
}
export { note };
export const value = 5;`,
    ],
    [
      'reads the parent’s environment, directly and through /proc',
      `import fs from 'node:fs';
let note = JSON.stringify(process.env);
for (const p of ['/proc/1/environ', '/proc/self/environ']) { try { note += fs.readFileSync(p, 'utf8'); } catch {} }
try { note += fs.readFileSync('/proc/' + process.ppid + '/environ', 'utf8'); } catch {}
export { note };
export const value = 5;`,
    ],
    [
      'reaches a server on the host’s loopback',
      `import net from 'node:net';
const note = await new Promise((resolve) => {
  const s = net.connect(TCP_PORT, '127.0.0.1');
  s.on('data', (d) => resolve(String(d))).on('error', (e) => resolve(e.code));
});
export { note };
export const value = 5;`,
    ],
  ] as const;

  it.each(attacks)('%s', async (_name, source) => {
    const note = await feedback(
      source.replaceAll('PROJECT', project).replaceAll('TCP_PORT', String(tcpPort)).replaceAll('RUN_TAG', runTag),
    );
    expect(note).not.toContain(SECRET);
    expect(readdirSync(project)).toEqual(['secret.txt']);
    expect(readdirSync(tmpdir()).filter((e) => e === `planted-by-candidate-${runTag}`)).toEqual([]);
    expect(existsSync(pwned())).toBe(false);
    expect(hits).toEqual([]);
  });

  it('is refused, not run unconfined, where the OS sandbox cannot be had', async () => {
    const refused = commandEvaluator({ command: 'node eval.mjs', bwrapPath: '/nonexistent/bwrap' });
    const error = await refused
      .evaluate('export const value = 1;', { fileName: 'c.mjs', candidateId: 'attack' })
      .catch((e: unknown) => e);
    expect(UnityError.isInstance(error) && error.code).toBe('SANDBOX_UNAVAILABLE');
  });
});
