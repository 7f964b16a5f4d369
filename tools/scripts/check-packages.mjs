#!/usr/bin/env node
// publint and attw (--pack) on every publishable package (packages/*), after building them through Nx.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: root, stdio: 'inherit' });

const failures = [];
// Every changeset must parse and name only versioned packages (a broken one would fail the release).
console.log('\n== changesets');
if (spawnSync('npx', ['changeset', 'status'], { cwd: root, stdio: 'inherit' }).status !== 0)
  failures.push('changesets');

for (const dir of readdirSync(join(root, 'packages'))) {
  const cwd = join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  for (const [tool, args] of [
    ['publint', ['publint', '--strict']],
    ['attw', ['attw', '--pack', '.', '--profile', 'node16']],
  ]) {
    console.log(`\n== ${pkg.name}: ${tool}`);
    const r = spawnSync('npx', args, { cwd, stdio: 'inherit' });
    if (r.status !== 0) failures.push(`${pkg.name}: ${tool}`);
  }
}
if (failures.length > 0) {
  console.error(`\npackage checks failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('\npackage checks passed');
