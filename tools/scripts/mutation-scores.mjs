#!/usr/bin/env node
// After `stryker run` (see stryker.config.mjs): the mutation score of each mutated file from Stryker's JSON report, and
// a failure when a file is under its floor — 85% for the modules that hold a security boundary, 80% for the others.
// Stryker's own `thresholds.break` only sees the score over all files together.
// Usage: node tools/scripts/mutation-scores.mjs [report.json]
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const reportPath = process.argv[2] ?? join(root, 'reports', 'mutation', 'mutation.json');

/** Files whose mutants guard what a model may run, read or write, or who may call the gateway. */
const boundary = new Set([
  'packages/tools/src/command/command-policy.ts',
  'packages/tools/src/sandbox.ts',
  'packages/core/src/os-sandbox.ts',
  'packages/gateway/src/api-key.ts',
  'packages/gateway/src/keys/key-secret.ts',
  'packages/gateway/src/keys/memory-store.ts',
]);
const floor = (file) => (boundary.has(file) ? 85 : 80);

const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const detected = new Set(['Killed', 'Timeout']);
const undetected = new Set(['Survived', 'NoCoverage']);

const rows = Object.entries(report.files)
  .map(([name, file]) => {
    const path = relative(root, join(root, name)).split('\\').join('/');
    const count = (statuses) => file.mutants.filter((m) => statuses.has(m.status)).length;
    const killed = count(detected);
    const survived = count(undetected);
    const valid = killed + survived;
    const score = valid === 0 ? 100 : (100 * killed) / valid;
    return { path, mutants: valid, killed, survived, score, floor: floor(path) };
  })
  .sort((a, b) => a.path.localeCompare(b.path));

const width = Math.max(...rows.map((r) => r.path.length));
console.log(`${'file'.padEnd(width)}  mutants  killed  survived   score  floor`);
for (const r of rows) {
  const mark = r.score < r.floor ? '  <- under its floor' : '';
  console.log(
    `${r.path.padEnd(width)}  ${String(r.mutants).padStart(7)}  ${String(r.killed).padStart(6)}  ${String(r.survived).padStart(8)}  ${r.score.toFixed(1).padStart(6)}  ${String(r.floor).padStart(5)}${mark}`,
  );
}
const under = rows.filter((r) => r.score < r.floor);
if (under.length > 0) {
  console.error(`mutation score under its floor in ${under.length} file(s): ${under.map((r) => r.path).join(', ')}`);
  process.exit(1);
}
console.log(`mutation scores: every file at or above its floor (${rows.length} files)`);
