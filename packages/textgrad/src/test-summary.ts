import { stripAnsi } from './ansi';

/** Counts read from a test runner's output. */
export interface TestSummary {
  passed: number;
  failed: number;
  /** The failing tests' lines, for the coder to read. */
  failures: string[];
}

const tapCount = /^\s*(?:#|ℹ)\s+(pass|fail)\s+(\d+)\s*$/;
const countPair = /(\d+)\s+(passed|passing|failed|failing|errors?)\b/gi;
const failureLine =
  /^\s*(not ok \d+|✖|✗|×|FAILED\b|FAIL\b|●\s|\d+\) )|AssertionError|Error: expect|^\s*(?:E\s{2,}|assert)/;

/**
 * Read pass and fail counts from common runners' closing lines: `N passed, N failed` (and pytest, Jest and Vitest
 * variants of it), mocha's `N passing`/`N failing`, TAP and `node --test` (`# pass N`/`# fail N`), or else by
 * counting TAP `ok`/`not ok` lines. Undefined when the output holds none of these.
 */
export function parseTestSummary(output: string): TestSummary | undefined {
  const lines = stripAnsi(output).split(/\r?\n/);
  const failures = lines.filter((l) => failureLine.test(l)).map((l) => l.trim());
  const uniqueFailures = [...new Set(failures)].slice(0, 30);

  let tapPass: number | undefined;
  let tapFail: number | undefined;
  for (const line of lines) {
    const m = tapCount.exec(line);
    if (m) {
      if (m[1] === 'pass') tapPass = Number(m[2]);
      else tapFail = Number(m[2]);
    }
  }
  if (tapPass !== undefined || tapFail !== undefined) {
    return { passed: tapPass ?? 0, failed: tapFail ?? 0, failures: uniqueFailures };
  }

  const passing = lastCount(lines, /^\s*(\d+) passing\b/);
  const failing = lastCount(lines, /^\s*(\d+) failing\b/);
  if (passing !== undefined || failing !== undefined) {
    return { passed: passing ?? 0, failed: failing ?? 0, failures: uniqueFailures };
  }

  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    let passed = 0;
    let failed = 0;
    let found = false;
    for (const m of line.matchAll(countPair)) {
      found = true;
      const word = (m[2] as string).toLowerCase();
      if (word.startsWith('pass')) passed += Number(m[1]);
      else failed += Number(m[1]);
    }
    if (found) return { passed, failed, failures: uniqueFailures };
  }

  const ok = lines.filter((l) => /^\s*ok \d+/.test(l)).length;
  const notOk = lines.filter((l) => /^\s*not ok \d+/.test(l)).length;
  if (ok + notOk > 0) return { passed: ok, failed: notOk, failures: uniqueFailures };
  return undefined;
}

/** The number in the last line matching `pattern` (mocha's separate `N passing` / `N failing` lines). */
function lastCount(lines: readonly string[], pattern: RegExp): number | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = pattern.exec(lines[i] as string);
    if (m) return Number(m[1]);
  }
  return undefined;
}
