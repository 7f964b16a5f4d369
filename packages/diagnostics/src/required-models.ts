import { UnityError } from '@unity/core';
import { ollamaHost, type UnityConfig } from '@unity/llm-router';
import { type CheckResult, runChecks } from './check';
import { withTag } from './ollama-api';
import { modelPulledCheck, ollamaReachableCheck } from './ollama-checks';

export interface RequiredModelsOptions {
  /** The environment the app passes (`OLLAMA_HOST`). */
  env: Record<string, string | undefined>;
  /** Per probe. Default 2,000 ms: this runs when a command starts. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Check `diagnostics.require_models` (Ollama names, as the seed writes them) the way `unity run` and `unity serve`
 * do when they start: Ollama reachable, each model pulled. Returns the problems (failed checks, each with its fix),
 * empty when every required model is there or none is required.
 */
export async function checkRequiredModels(
  config: Pick<UnityConfig, 'diagnostics' | 'ollama'>,
  options: RequiredModelsOptions,
): Promise<CheckResult[]> {
  const models = [
    ...new Set(config.diagnostics.require_models.map((m) => withTag(m.replace(/^ollama(_chat)?\//, '')))),
  ];
  if (models.length === 0) return [];
  const host = ollamaHost(config as UnityConfig, options.env);
  const timeoutMs = options.timeoutMs ?? 2000;
  const checks = [
    ollamaReachableCheck({ host, timeoutMs }),
    ...models.map((model) => modelPulledCheck({ host, model, timeoutMs })),
  ];
  const results = await runChecks(checks, options.signal);
  const reachable = results[0];
  if (reachable && reachable.status === 'fail') return [reachable];
  return results.filter((r) => r.status === 'fail');
}

/** One line per problem, each with its fix, for a warning or an error. */
export function describeRequiredModelProblems(problems: readonly CheckResult[]): string {
  return problems.map((p) => `${p.message}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('\n');
}

/** The refusal to start when `diagnostics.enforce` is on and a required model is not available. */
export function requiredModelsError(problems: readonly CheckResult[]): UnityError<'REQUIRED_MODELS_MISSING'> {
  return new UnityError({
    code: 'REQUIRED_MODELS_MISSING',
    message: `the models in diagnostics.require_models are not all available, and diagnostics.enforce is on:\n${describeRequiredModelProblems(problems)}`,
    fix: 'apply the fixes above, or set diagnostics.enforce: false to start with a warning instead',
  });
}
