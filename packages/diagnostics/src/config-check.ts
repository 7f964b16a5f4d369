import { describeError, UnityError } from '@unity/core';
import type { Check } from './check';

/** How loading the config went: the file it came from, or the error (a `ConfigError` names file, line and field). */
export type ConfigOutcome = { source: string } | { error: unknown };

const configCheckId = 'config';

/** Reports whether the config file is valid; its failure carries the ConfigError's file, line, field and fix. */
export function configCheck(outcome: ConfigOutcome): Check {
  return {
    id: configCheckId,
    title: 'Config valid',
    required: true,
    async run() {
      if ('source' in outcome) return { status: 'ok', message: outcome.source };
      const { error } = outcome;
      const fix = UnityError.isInstance(error) ? error.fix : undefined;
      const message = describeError(error);
      return { status: 'fail', message, ...(fix ? { fix } : {}) };
    },
  };
}
