// Attacks on execute_command as a model with the tools' powers would make them. Each runs twice: through the default
// policy with every approval granted (a careless user), and with a policy that allows every program outright — the
// kernel's sandbox, not the filter, must hold either way.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ToolCall } from '@unity/core';
import { createToolExecutor, type ToolExecutor } from '@unity/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'host-secret-7f3a9c';
/** What a host exports that must never reach a command (the CLI passes its whole environment to the tools). */
const hostEnv: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  DATABASE_URL: `postgres://app:${SECRET}@db.internal/app`,
  REDIS_URL: `redis://:${SECRET}@cache.internal:6379`,
  SENTRY_DSN: `https://${SECRET}@o1.ingest.sentry.io/1`,
  SLACK_WEBHOOK_URL: `https://hooks.slack.com/services/${SECRET}`,
  AWS_ACCESS_KEY_ID: `AKIA${SECRET}`,
  AWS_SECRET_ACCESS_KEY: SECRET,
  NPM_AUTH: SECRET,
  MINIMAX_API_KEY: SECRET,
  GITHUB_TOKEN: SECRET,
};

let base: string;
let root: string;
let outside: string;
let tcpServer: Server;
let tcpPort: number;
let abstractServer: Server;
let unixServer: Server;
const hits: string[] = [];

function permissive(): ToolExecutor {
  return createToolExecutor({
    root,
    commandPolicy: {
      allow: ['sh', 'git', 'sort', 'diff', 'ls', 'cat', 'node', 'id', 'env', 'touch', 'cp', 'nohup', 'setsid', 'sleep'],
    },
    command: { env: hostEnv },
    approve: async () => true,
  });
}

function defaultPolicy(): ToolExecutor {
  return createToolExecutor({ root, command: { env: hostEnv }, approve: async () => true });
}

let callId = 0;
async function run(executor: ToolExecutor, name: string, args: Record<string, unknown>): Promise<string> {
  const call: ToolCall = { id: `c${++callId}`, name, arguments: args, rawArguments: JSON.stringify(args) };
  const [result] = await executor.execute([call]);
  return result?.content ?? '';
}
const cmd = (executor: ToolExecutor, command: string, timeout_ms = 10_000) =>
  run(executor, 'execute_command', { command, timeout_ms });

/** Nothing of the outside reached the workspace or the model, and nothing was written outside. */
function expectHeld(output: string): void {
  expect(output).not.toContain(SECRET);
  expect(readdirSync(outside).sort()).toEqual(['list0', 'secret.txt']);
  expect(existsSync(path.join(tmpdir(), 'unity-attack-pwned'))).toBe(false);
  expect(hits).toEqual([]);
}

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'unity-attack-cmd-'));
  root = path.join(base, 'workspace');
  outside = path.join(base, 'sibling-project');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), `${SECRET}\n`);
  writeFileSync(path.join(outside, 'list0'), `${path.join(outside, 'secret.txt')}\0`);
  symlinkSync(outside, path.join(root, 'link'));
  tcpServer = createServer((s) => {
    hits.push('tcp');
    s.end(`${SECRET}\n`);
  });
  await new Promise<void>((r) => tcpServer.listen(0, '127.0.0.1', r));
  tcpPort = (tcpServer.address() as AddressInfo).port;
  abstractServer = createServer((s) => {
    hits.push('abstract');
    s.end(`${SECRET}\n`);
  });
  await new Promise<void>((r) => abstractServer.listen('\0unity-attack-abstract', r));
  unixServer = createServer((s) => {
    hits.push('unix');
    s.end(`${SECRET}\n`);
  });
  await new Promise<void>((r) => unixServer.listen(path.join(base, 'host-service.sock'), r));
});

afterAll(() => {
  tcpServer.close();
  abstractServer.close();
  unixServer.close();
  rmSync(base, { recursive: true, force: true });
  rmSync(path.join(tmpdir(), 'unity-attack-pwned'), { force: true });
});

const executors = [
  ['default policy, every approval granted', defaultPolicy],
  ['permissive policy', permissive],
] as const;

describe.each(executors)('git configuration and alias execution (%s)', (_, make) => {
  it('runs no alias written into a config file outside .git as anything but the sandbox user, and not outside', async () => {
    const executor = make();
    await run(executor, 'write_file', {
      path: 'evil/config',
      content: `[core]\n\trepositoryformatversion = 0\n\tbare = true\n[alias]\n\tx = "!id -u > ${outside}/pwned; cat ${outside}/secret.txt; id -u"\n`,
    });
    mkdirSync(path.join(root, 'evil', 'objects'), { recursive: true });
    mkdirSync(path.join(root, 'evil', 'refs'), { recursive: true });
    writeFileSync(path.join(root, 'evil', 'HEAD'), 'ref: refs/heads/main\n');
    const output = await cmd(executor, 'git --git-dir=evil x');
    expectHeld(output);
    if (/^exit code 0/.test(output)) expect(output).toMatch(/\n1000\n/);
    rmSync(path.join(root, 'evil'), { recursive: true, force: true });
  });

  it('cannot rewrite .git/config with sort -o to plant an alias, nor run one', async () => {
    const executor = make();
    await cmd(executor, 'git init -q');
    await run(executor, 'write_file', {
      path: 'alias.txt',
      content: `[alias]\n\tx = "!touch ${path.join(tmpdir(), 'unity-attack-pwned')}; cat ${outside}/secret.txt"\n`,
    });
    const sorted = await cmd(executor, 'sort -o .git/config alias.txt');
    expect(readFileSync(path.join(root, '.git', 'config'), 'utf8')).not.toContain('alias');
    const output = await cmd(executor, 'git x');
    expectHeld(sorted + output);
  });

  it('cannot plant a hook that the host would run', async () => {
    const executor = make();
    const output = await cmd(
      executor,
      `sh -c 'echo "#!/bin/sh\ntouch ${outside}/hooked" > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit'`,
    );
    expect(existsSync(path.join(root, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expectHeld(output);
    rmSync(path.join(root, '.git'), { recursive: true, force: true });
    rmSync(path.join(root, 'alias.txt'), { force: true });
  });
});

describe.each(executors)('reads outside the root with ordinary flags and links (%s)', (_, make) => {
  const attacks = [
    ['sort --files0-from a list naming an outside file', () => `sort --files0-from=${outside}/list0`],
    ['sort --files0-from through a link', () => 'sort --files0-from=link/list0'],
    ['diff -r through a link to a sibling project', () => 'diff -r link .'],
    ['ls -RL through a link', () => 'ls -RL link'],
    ['cat link/../ resolving .. after the link', () => `cat link/../${path.basename(outside)}/secret.txt`],
    ['cat an absolute path outside', () => `cat ${outside}/secret.txt`],
    ['cat /etc/shadow', () => 'cat /etc/shadow'],
    ['ls /root', () => 'ls -la /root'],
    ['the host environment through /proc/1/environ', () => 'cat /proc/1/environ'],
    ['the parent environment through /proc/self/environ', () => 'cat /proc/self/environ'],
    ['every variable the command has', () => 'env'],
  ] as const;
  it.each(attacks)('%s', async (_name, command) => {
    const output = await cmd(make(), command());
    expectHeld(output);
  });

  it('cannot reach a host service over TCP on loopback, an abstract socket, or a Unix socket outside', async () => {
    const executor = make();
    const probe = (target: string) =>
      cmd(
        executor,
        `node -e "require('net').connect(${target}).on('data',d=>process.stdout.write(String(d))).on('error',e=>console.log(e.code))"`,
      );
    const output = [
      await probe(`${tcpPort},'127.0.0.1'`),
      await probe(`'\\\\0unity-attack-abstract'`),
      await probe(`'${path.join(base, 'host-service.sock')}'`),
    ].join('\n');
    expectHeld(output);
  });

  it('cannot write outside the workspace, into the host /tmp, or gain privileges', async () => {
    const output = await cmd(
      make(),
      `sh -c 'touch ${outside}/planted; touch ${tmpdir()}/unity-attack-pwned; id -u; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status'`,
    );
    expectHeld(output);
    // Line by line: the touch errors (stderr) may land anywhere among the stdout lines.
    expect(output).toMatch(/^1000$/m);
    expect(output).toMatch(/^CapEff:\s+0+$/m);
    expect(output).toMatch(/^NoNewPrivs:\s+1$/m);
  });
});

describe.each(executors)('processes outliving their command (%s)', (_, make) => {
  const marker = () => path.join(root, 'daemon.marker');
  const loop = () => `while true; do date > ${marker()}; sleep 0.05; done`;
  const attacks = [
    ['a setsid daemon', () => `sh -c 'setsid sh -c "${loop()}" & echo started'`],
    ['a double fork', () => `sh -c '(sh -c "${loop()}" &) ; echo started'`],
    ['nohup in the background', () => `sh -c 'nohup sh -c "${loop()}" >/dev/null 2>&1 & echo started'`],
    ['a setsid daemon holding stdout open past the timeout', () => `sh -c 'setsid sh -c "${loop()}" & sleep 100'`],
  ] as const;
  it.each(attacks)('%s is gone when the call returns', async (_name, command) => {
    const output = await cmd(make(), command(), 1500);
    expect(output).toMatch(/started|did not finish within timeout_ms=1500/);
    rmSync(marker(), { force: true });
    // A survivor rewrites the marker every 50 ms: a second without it proves it is gone.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(marker())).toBe(false);
  });
});
