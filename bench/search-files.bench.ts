// search_files against ripgrep on a generated tree of 100,000 small files, same queries, same run. Goal: ≤ 2× rg.
// The tree (nested packages, a .gitignore with ignored build output, binary files, a few matches) is made once in a
// temporary folder and removed at the end. rg comes from Debian's ripgrep package, installed here when missing.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createToolExecutor } from '@unity/tools';
import { compare, goal, median, report } from './lib/measure';

const run = promisify(execFile);

function ensureRipgrep(): void {
  if (spawnSync('rg', ['--version']).status === 0) return;
  console.log('ripgrep (rg) is not on PATH: installing Debian package ripgrep with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'ripgrep'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'ripgrep'], { stdio: 'inherit', env });
  }
  if (r.status !== 0) throw new Error('could not install ripgrep with apt-get; install it and run the benchmark again');
  console.log(`installed ${execFileSync('rg', ['--version'], { encoding: 'utf8' }).split('\n')[0]}`);
}

const words = ['alpha', 'beta', 'gamma', 'delta', 'router', 'config', 'handler', 'value', 'result', 'stream', 'cache'];

/** 10 packages × 10 areas × 10 modules × 100 files, plus ignored build output and some binary files. */
function generate(root: string): { files: number; needles: number } {
  let files = 0;
  let needles = 0;
  writeFileSync(path.join(root, '.gitignore'), 'dist/\n*.log\n');
  for (let p = 0; p < 10; p++) {
    for (let a = 0; a < 10; a++) {
      for (let m = 0; m < 10; m++) {
        const dir = path.join(root, `pkg-${p}`, 'src', `area-${a}`, `mod-${m}`);
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 100; f++) {
          const n = files++;
          if (n % 200 === 7) {
            writeFileSync(
              path.join(dir, `image-${f}.png`),
              Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3]),
            );
            continue;
          }
          const lines = [`// file ${n}`, `import { ${words[n % 11]} } from './${words[(n + 3) % 11]}';`];
          for (let l = 0; l < 8; l++)
            lines.push(`export function ${words[(n + l) % 11]}_${n}_${l}(x) { return x + ${l}; }`);
          if (n % 1000 === 13) {
            lines.push(`const marker = 'NEEDLE_TOKEN_42'; // match ${n}`);
            needles++;
          }
          writeFileSync(path.join(dir, `${words[n % 11]}-${f}.${n % 3 === 0 ? 'js' : 'ts'}`), `${lines.join('\n')}\n`);
        }
      }
      // Ignored build output that holds the needle too: neither tool may report it.
      const dist = path.join(root, `pkg-${p}`, 'dist');
      mkdirSync(dist, { recursive: true });
      writeFileSync(path.join(dist, `bundle-${a}.js`), `const marker = 'NEEDLE_TOKEN_42';\n`);
    }
  }
  return { files, needles };
}

ensureRipgrep();
const base = mkdtempSync(path.join(tmpdir(), 'unity-bench-search-'));
try {
  const started = performance.now();
  const tree = generate(base);
  console.log(
    `generated ${tree.files} files in ${((performance.now() - started) / 1000).toFixed(1)} s (${tree.needles} hold the needle)`,
  );

  const executor = createToolExecutor({ root: base, maxResultChars: 10_000_000, callTimeoutMs: 600_000 });
  const queries = [
    { name: 'literal, rare', args: { pattern: 'NEEDLE_TOKEN_42' }, rg: ['-F', 'NEEDLE_TOKEN_42'] },
    { name: 'regex', args: { pattern: 'function router_\\d+1_7\\(', regex: true }, rg: ['function router_\\d+1_7\\('] },
    {
      name: 'literal, *.ts only',
      args: { pattern: 'NEEDLE_TOKEN_42', glob: '*.ts' },
      rg: ['-F', '-g', '*.ts', 'NEEDLE_TOKEN_42'],
    },
  ];
  const rgBase = ['--no-config', '--no-require-git', '--hidden', '-n', '--no-heading', '--no-messages'];
  const ratios: number[] = [];
  for (const q of queries) {
    const searchFiles = async () => {
      const [result] = await executor.execute([
        { id: 'b', name: 'search_files', arguments: { max: 5000, ...q.args }, rawArguments: '{}' },
      ]);
      if (!result?.ok) throw new Error(result?.content);
      return result.content.startsWith('no matches') ? 0 : result.content.split('\n').length;
    };
    const ripgrep = async () => {
      const { stdout } = await run('rg', [...rgBase, ...q.rg, '.'], { cwd: base, maxBuffer: 1 << 28 }).catch((e) => {
        if (e.code === 1) return { stdout: '' }; // rg: no match
        throw e;
      });
      return stdout === '' ? 0 : stdout.trimEnd().split('\n').length;
    };
    const [ours, theirs] = [await searchFiles(), await ripgrep()];
    console.log(
      `\n${q.name}: search_files found ${ours} lines, rg found ${theirs}${ours === theirs ? '' : ' (DIFFERENT)'}`,
    );
    const samples = await compare({ rg: ripgrep, search_files: searchFiles }, { rounds: 5, warmup: 1 });
    report(`search over ${tree.files} files: ${q.name}`, samples, 'rg');
    const rg = samples.find((s) => s.name === 'rg');
    const sf = samples.find((s) => s.name === 'search_files');
    if (rg && sf) ratios.push(median(sf.times) / median(rg.times));
  }
  console.log('');
  for (const [i, q] of queries.entries()) goal(`search_files / rg, ${q.name}`, ratios[i] ?? Number.NaN, 2, '×');
} finally {
  rmSync(base, { recursive: true, force: true });
  console.log(`removed ${base}`);
}
