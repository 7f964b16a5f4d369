import { createHash } from 'node:crypto';
import { relative, resolve } from 'node:path';

/** Argument keys whose string values name a file or folder, resolved against the root before comparison. */
const pathKeys = /^(path|cwd|file|dir|directory|root|folder)$|(path|file|dir)$/i;

export interface CallShape {
  name: string;
  arguments: Record<string, unknown>;
}

/** Trim and collapse every run of whitespace to one space. */
export function normaliseWhitespace(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

/**
 * A path as it names a place under `root`: `./src/../a.txt`, `a.txt` and `/root/a.txt` are all `a.txt`; a path
 * outside stays relative (`../x`). Without a root the path is only normalised.
 */
export function canonicalPath(value: string, root: string | undefined): string {
  const trimmed = value.trim();
  if (root === undefined) return relative('/', resolve('/', trimmed)) || '.';
  return relative(root, resolve(root, trimmed)) || '.';
}

function byCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: object keys are unique, and V8's sort reads only "< 0" answers
  return a > b ? 1 : 0;
}

function canonicalValue(value: unknown, key: string | undefined, root: string | undefined): unknown {
  if (typeof value === 'string') {
    return key !== undefined && pathKeys.test(key) ? canonicalPath(value, root) : normaliseWhitespace(value);
  }
  if (Array.isArray(value)) return value.map((item) => canonicalValue(item, undefined, root));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => byCodeUnits(a, b));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonicalValue(v, k, root)]));
  }
  return value;
}

/** The arguments with keys sorted (at every depth), paths resolved against `root` and whitespace normalised. */
export function canonicalArguments(args: Record<string, unknown>, root?: string): Record<string, unknown> {
  return canonicalValue(args, undefined, root) as Record<string, unknown>;
}

/** A call's identity for repetition checks: `read_file {"path":"a.txt"}`, equal for calls that mean the same. */
export function callFingerprint(call: CallShape, root?: string): string {
  return `${call.name} ${JSON.stringify(canonicalArguments(call.arguments, root))}`;
}

/** The paths a call names (its path-like arguments), canonical, for summaries such as "on 3 files". */
export function callPaths(call: CallShape, root?: string): string[] {
  const paths: string[] = [];
  for (const [key, value] of Object.entries(call.arguments)) {
    if (typeof value === 'string' && pathKeys.test(key)) paths.push(canonicalPath(value, root));
  }
  return paths;
}

/** A short digest of a result (ok flag and content): equal digests mean the call changed nothing it could see. */
export function resultFingerprint(ok: boolean, content: string): string {
  return createHash('sha256')
    .update(ok ? 'ok\0' : 'error\0')
    .update(content)
    .digest('hex')
    .slice(0, 16);
}
