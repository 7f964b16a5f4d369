const unityErrorMarker = Symbol.for('unity.error');

/** True when `value` carries the given marker symbol: works across duplicate copies of a package. */
export function hasErrorMarker(value: unknown, marker: symbol): boolean {
  return (
    value != null && typeof value === 'object' && marker in value && (value as Record<symbol, unknown>)[marker] === true
  );
}

export interface UnityErrorOptions<C extends string> {
  /** Machine-readable code, stable across versions. */
  code: C;
  /** What was wrong and where. */
  message: string;
  /** What to do about it: a command or a setting where there is one. Kept apart from the message (`formatError`). */
  fix?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The base class of every error Unity throws on purpose. Each failure family subclasses it with its own
 * code union; `UnityError.isInstance(e)` works even when two copies of a package are installed.
 */
export class UnityError<C extends string = string> extends Error {
  protected readonly [unityErrorMarker] = true;
  readonly code: C;
  readonly fix: string | undefined;

  constructor({ code, message, fix, cause }: UnityErrorOptions<C>) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UnityError';
    this.code = code;
    this.fix = fix;
  }

  static isInstance(error: unknown): error is UnityError {
    return hasErrorMarker(error, unityErrorMarker);
  }
}

/**
 * An error as a person (or a model) should read it: the message, and the fix on a line of its own when there is one.
 * Whoever prints an error formats it; the error itself keeps message and fix apart.
 */
export function formatError(error: unknown): string {
  if (!UnityError.isInstance(error)) return describeError(error);
  return error.fix ? `${error.message}\nFix: ${error.fix}` : error.message;
}

/** A short description of any thrown value, for messages: `TypeError: x is not a function`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const base = error.message || error.name;
    return typeof code === 'string' && !base.includes(code) ? `${base} (${code})` : base;
  }
  return String(error);
}
