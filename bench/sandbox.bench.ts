// The OS sandbox's start-up cost per command: the same `sh -c true` run directly and inside bubblewrap (the exact argv
// execute_command builds), both through runProcessGroup, interleaved round by round; then execute_command end to end,
// confined and unconfined. Reported as medians of 100 with the added milliseconds and the ratio.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeOsSandbox, runProcessGroup, sandboxEnv, sandboxedArgv } from '@unity/core';
import { createToolExecutor } from '@unity/tools';
import { compare, median, report } from './lib/measure';

const probe = await probeOsSandbox();
if (!probe.available) {
  console.error(`no OS sandbox here: ${probe.reason}\nFix: ${probe.fix}`);
  process.exit(1);
}
const root = mkdtempSync(path.join(tmpdir(), 'unity-sandbox-bench-'));
const command = ['/bin/sh', '-c', 'true'];
const run = (argv: string[]) =>
  runProcessGroup(argv, {
    cwd: root,
    env: sandboxEnv(process.env),
    timeoutMs: 10_000,
    headBytes: 1000,
    tailBytes: 1000,
  });
const confinedArgv = sandboxedArgv(command, 'bwrap', { writable: [root], readOnly: [path.join(root, '.unity')] }, root);

const processes = await compare(
  { direct: () => run(command), bubblewrap: () => run(confinedArgv) },
  { rounds: 100, warmup: 10 },
);
report(`one command's start-up (sh -c true), median of 100, bubblewrap ${probe.version}`, processes, 'direct');

const tool = (sandbox: 'bwrap' | 'none') => {
  const executor = createToolExecutor({ root, command: { env: process.env, sandbox } });
  let id = 0;
  return () =>
    executor.execute([{ id: String(++id), name: 'execute_command', arguments: { command: 'true' }, rawArguments: '' }]);
};
const tools = await compare({ unconfined: tool('none'), confined: tool('bwrap') }, { rounds: 100, warmup: 10 });
report('execute_command "true" end to end, median of 100', tools, 'unconfined');

const added = (samples: typeof processes, base: string, other: string) =>
  median(samples.find((s) => s.name === other)?.times ?? []) -
  median(samples.find((s) => s.name === base)?.times ?? []);
console.log(`\nsandbox start-up cost per command: +${added(processes, 'direct', 'bubblewrap').toFixed(2)} ms`);
console.log(`execute_command, confined vs unconfined: +${added(tools, 'unconfined', 'confined').toFixed(2)} ms`);
rmSync(root, { recursive: true, force: true });
