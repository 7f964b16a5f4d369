#!/usr/bin/env node
// The one test command: typecheck and test every project through Nx, then print one closing line
// `tests: N passed, N failed, N skipped` summed over the JSON reports each project's Vitest run writes.
// Extra arguments are passed to Nx (e.g. `npm test -- --projects=@unity/llm-router`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const reportPaths = () =>
  ['packages', 'apps', 'tools']
    .flatMap((group) =>
      existsSync(join(root, group)) ? readdirSync(join(root, group)).map((p) => join(root, group, p)) : [],
    )
    .map((project) => join(project, 'test-results.json'));

// Stale reports must not be counted: Nx restores the cached ones for cache hits.
for (const report of reportPaths()) rmSync(report, { force: true });

const nx = spawnSync(
  'npx',
  ['nx', 'run-many', '-t', 'typecheck', 'test', '--outputStyle=static', '--parallel=2', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const report of reportPaths()) {
  if (!existsSync(report)) continue;
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A test file that fails to load has no failed tests, only a failed suite: count it as a failure.
  failed += r.numFailedTests > 0 ? r.numFailedTests : r.numFailedTestSuites;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(nx.status !== 0 ? nx.status || 1 : failed > 0 ? 1 : 0);
