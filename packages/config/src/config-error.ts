import { hasErrorMarker, UnityError } from '@unity/core';

const configMarker = Symbol.for('unity.error.ConfigError');

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_NOT_FOUND' | 'UNKNOWN_PROVIDER';

/** A configuration value that cannot be used: names the file, line and field where known, and the fix. */
export class ConfigError extends UnityError<ConfigErrorCode> {
  protected readonly [configMarker] = true;
  override readonly name = 'ConfigError';

  static override isInstance(error: unknown): error is ConfigError {
    return hasErrorMarker(error, configMarker);
  }
}
