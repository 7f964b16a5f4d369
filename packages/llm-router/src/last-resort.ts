import { describeAttempts } from './attempt-report';
import type { UnityConfig } from './config-schema';
import type { Attempt } from './errors';

/** The store model the router answers with when the whole chain failed. */
export interface LastResortModel {
  /** The store name (`stories260K`): the model string is `llamacpp/<name>`. */
  name: string;
  path: string;
}

/**
 * Whether the config lets the router fall back to the model store after the chain failed: `router.last_resort: store`
 * and `cloud_llm.fallback_to_local` not false. Privacy settings allow it: the model runs in-process.
 */
export function lastResortEnabled(config: UnityConfig): boolean {
  return config.router.last_resort === 'store' && config.cloud_llm.fallback_to_local;
}

/**
 * The newest readable GGUF model in `storeDir`, unless the chain already tried that file (`triedModels`: the chain's
 * `llamacpp/<model>` names or paths). The store module is loaded here, on the failure path only. An unreadable store
 * counts as empty.
 */
export async function findLastResort(
  storeDir: string,
  triedModels: readonly string[],
): Promise<LastResortModel | undefined> {
  const { findDefaultStoreModel, resolveStoreModel } = await import('./model-store/store');
  const stored = await findDefaultStoreModel(storeDir).catch(() => undefined);
  if (!stored) return undefined;
  if (triedModels.some((model) => resolveStoreModel(model, storeDir) === stored.path)) return undefined;
  return { name: stored.name, path: stored.path };
}

/**
 * The chain's failure with the last resort's failure added: the message lists the chain's attempts, then the store
 * model's; the fix offers both.
 */
export function withLastResortFailure(
  chainFailure: { message: string; fix: string | undefined },
  model: LastResortModel,
  attempts: readonly Attempt[],
): { message: string; fix: string | undefined } {
  const own = attempts.filter((a) => a.lastResort);
  const last = own.at(-1)?.error;
  const detail = last ? `${last.message} [${last.code}]` : 'no answer';
  const message = `${chainFailure.message}\nthe embedded last resort, ${model.name} from the model store (${model.path}), failed too: ${detail}`;
  const fixes = [chainFailure.fix, last?.fix && `for the last resort: ${last.fix}`].filter(Boolean);
  return { message, fix: fixes.length > 0 ? fixes.join('; or ') : undefined };
}

/** The chain's attempts, without the last resort's, as lines a user can act on. */
export function describeChainAttempts(attempts: readonly Attempt[]): string {
  return describeAttempts(attempts.filter((a) => !a.lastResort));
}
