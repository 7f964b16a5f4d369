import { type CommandEvaluatorOptions, clip, sandboxedEvaluator } from './command-evaluator';
import { EvolutionError } from './errors';
import type { Evaluation, Evaluator } from './evaluator';
import type { SandboxResult } from './sandbox';
import { parseTestSummary } from './test-summary';

/**
 * An evaluator that runs a test command in the sandbox (the candidate's path appended as its last argument). The score
 * is the pass ratio × 100 and the failing tests are the feedback. See `parseTestSummary` for the formats it reads.
 */
export function testCommandEvaluator(options: CommandEvaluatorOptions): Evaluator {
  return sandboxedEvaluator('test', 'tests', options, readTestRun);
}

function readTestRun(result: SandboxResult, command: string): Evaluation {
  const output = `${result.stdout}\n${result.stderr}`;
  const summary = parseTestSummary(output);
  if (!summary || summary.passed + summary.failed === 0) {
    const status = result.exitSignal ? `killed by ${result.exitSignal}` : `exit code ${result.exitCode}`;
    throw new EvolutionError({
      code: 'EVALUATION_FAILED',
      message: `the test command "${command}" ${summary ? 'ran no test' : 'printed no test summary'} (${status}); output: ${clip(output.trim(), 500, true)}`,
      fix: 'make the command print a summary such as "3 passed, 1 failed" or TAP ("# pass 3", "# fail 1")',
    });
  }
  const score = (100 * summary.passed) / (summary.passed + summary.failed);
  const feedback =
    summary.failed === 0
      ? `all ${summary.passed} tests passed`
      : `${summary.failed} of ${summary.passed + summary.failed} tests failed:\n${clip(summary.failures.join('\n'), 2000)}`;
  return { score, feedback };
}
