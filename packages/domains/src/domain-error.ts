import { hasErrorMarker, UnityError } from '@unity/core';

const domainMarker = Symbol.for('unity.error.DomainError');

export type DomainErrorCode =
  /** A preset in a config file or domain file fails validation (the issues say file, line and field). */
  | 'DOMAIN_INVALID'
  /** A file could not be read or is not YAML. */
  | 'DOMAIN_FILE_UNREADABLE'
  /** No preset has the requested name. */
  | 'DOMAIN_NOT_FOUND';

/** One problem in a domain definition: where it is and what is wrong. */
export interface DomainIssue {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** The field as written in the file (`domains.sql.limits.max_iterations`); empty for the whole file. */
  field: string;
  message: string;
}

export interface DomainErrorOptions {
  code: DomainErrorCode;
  message: string;
  fix?: string;
  cause?: unknown;
  issues?: DomainIssue[];
}

/** A domain preset that cannot be loaded or found. */
export class DomainError extends UnityError<DomainErrorCode> {
  protected readonly [domainMarker] = true;
  override readonly name = 'DomainError';
  readonly issues: DomainIssue[];

  constructor(options: DomainErrorOptions) {
    super(options);
    this.issues = options.issues ?? [];
  }

  static override isInstance(error: unknown): error is DomainError {
    return hasErrorMarker(error, domainMarker);
  }
}

/** `file:line: field: message`, the way compilers print a location. */
export function formatDomainIssue(issue: DomainIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}
