import {
  type CheckResult,
  checkRequiredModels,
  describeRequiredModelProblems,
  requiredModelsError,
} from '@unity/diagnostics';
import type { UnityConfig } from '@unity/llm-router';

/** Print what is missing of `diagnostics.require_models` as a warning on stderr. */
export function warnMissingRequiredModels(problems: readonly CheckResult[]): void {
  if (problems.length === 0) return;
  process.stderr.write(
    `unity: warning: ${describeRequiredModelProblems(problems)}\n` +
      '  (diagnostics.require_models; set diagnostics.enforce: true to refuse to start instead)\n',
  );
}

/** `diagnostics.require_models` at a command's start: a warning, or the refusal when `diagnostics.enforce` is on. */
export async function requireModelsAtStart(config: UnityConfig): Promise<void> {
  const problems = await checkRequiredModels(config, { env: process.env });
  if (problems.length > 0 && config.diagnostics.enforce) throw requiredModelsError(problems);
  warnMissingRequiredModels(problems);
}
