import { nearestName } from '@unity/core';
import { type Document, isMap, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config-error';

/** A settings file parsed: the validated value, what the file itself held, and where each of its values stands. */
export interface ParsedSettings<T> {
  value: T;
  /** The file's own content as plain data (before defaults). */
  raw: Record<string, unknown>;
  /** The 1-based line of a value (or of its nearest written ancestor) at a path, for `config show`. */
  lineAt(path: readonly string[]): number | undefined;
}

/** A top-level object schema whose shape names the known sections. */
export type SettingsSchema = z.ZodObject;

/**
 * Parse and validate YAML text against `schema`, after `overlay` has filled in values the file leaves unset (the
 * environment). `file` names it in errors: every problem is reported as `file:line: field: what is wrong`, with the
 * fix; a top-level key one or two edits away from a known section is refused as misspelt.
 */
export function parseSettings<S extends SettingsSchema>(
  text: string,
  file: string,
  schema: S,
  overlay: (raw: Record<string, unknown>) => Record<string, unknown> = (raw) => raw,
  /** The environment variable that gave the value at a path, if one did (named in its error). */
  envAt: (path: readonly string[]) => string | undefined = () => undefined,
): ParsedSettings<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError({
      code: 'CONFIG_INVALID',
      message: `${file}${line ? `:${line}` : ''}: not valid YAML: ${first.message.split('\n')[0]}`,
      fix: 'fix the YAML syntax there (indentation, quotes, a missing colon)',
      cause: first,
    });
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError({
      code: 'CONFIG_INVALID',
      message: `${file}:1: expected a mapping of sections (cloud_llm:, models:, …), got ${describeValue(raw)}`,
      fix: 'start from the seed layout: cloud_llm:, models:, diagnostics:',
    });
  }
  const written = raw as Record<string, unknown>;
  const misspelt = misspeltSection(written, Object.keys(schema.shape), doc, lineCounter, file);
  if (misspelt) throw misspelt;
  const lineAt = (path: readonly string[]) => lineOf(doc, lineCounter, [...path], false);
  const effective = overlay(structuredClone(written));
  const result = schema.safeParse(effective);
  if (result.success) return { value: result.data, raw: written, lineAt };
  const problems = result.error.issues.map((issue) => {
    const name = envAt(issue.path.map(String));
    if (!name) return describeIssue(issue, written, file, doc, lineCounter, schema);
    const problem = describeIssue(issue, effective, 'the environment', doc, lineCounter, schema);
    return {
      message: `${problem.message.replace(/^the environment(:\d+)?: /, '')} (from the environment variable ${name})`,
      fix: `fix or unset ${name}, or set ${issue.path.join('.')} in ${file}`,
    };
  });
  const [first, ...rest] = problems;
  throw new ConfigError({
    code: 'CONFIG_INVALID',
    message: [first!.message, ...rest.map((p) => p.message)].join('\n'),
    // One fix a line, in the order of the problems: a single `;`-joined line was hard to read.
    fix: problems.length === 1 ? first!.fix : `one per problem:${problems.map((p) => `\n  - ${p.fix}`).join('')}`,
  });
}

/**
 * Other packages' sections (`domains:`, `agent:` …) are kept as they are, so a typo in a section name would silently
 * fall back to the defaults: a top-level key one or two edits away from a known section is an error instead.
 */
function misspeltSection(
  raw: Record<string, unknown>,
  known: readonly string[],
  doc: Document,
  lineCounter: LineCounter,
  file: string,
): ConfigError | undefined {
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    const meant = nearestName(key, known, 2);
    if (!meant) continue;
    const line = lineOf(doc, lineCounter, [key], true);
    return new ConfigError({
      code: 'CONFIG_INVALID',
      message: `${file}${line ? `:${line}` : ''}: unknown section ${key}: (did you mean ${meant}:?)`,
      fix: `rename ${key}: to ${meant}:`,
    });
  }
  return undefined;
}

interface Problem {
  message: string;
  fix: string;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  raw: unknown,
  file: string,
  doc: Document,
  lineCounter: LineCounter,
  schema: z.ZodType,
): Problem {
  const path = issue.path.map(String);
  let field = path.join('.');
  let keyPath: string[] | undefined;
  let message: string;
  let fix: string;
  const value = valueAt(raw, path);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) {
        message = `missing ${issue.expected}`;
        fix = `set ${field}`;
      } else {
        message = `expected ${issue.expected}, got ${describeValue(value)}`;
        fix = `set ${field} to ${article(issue.expected)}`;
      }
      break;
    case 'invalid_value':
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(value)}`;
      fix = `set ${field} to one of: ${issue.values.join(', ')}`;
      break;
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      keyPath = [...path, key];
      const known = Object.keys(shapeAt(schema, path)).join(', ');
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
      fix = `remove or rename ${issue.keys.length > 1 ? 'them' : 'it'}${known ? ` (known keys: ${known})` : ''}`;
      field = field || '(top level)';
      break;
    }
    case 'too_small':
      message = `${issue.message.replace(/^Too small: /, '')}, got ${describeValue(value)}`;
      fix = `set ${field} to a larger value`;
      break;
    case 'custom':
      message = issue.message;
      fix = typeof issue.params?.fix === 'string' ? issue.params.fix : `fix ${field}`;
      break;
    default:
      message = `${issue.message}, got ${describeValue(value)}`;
      fix = `fix ${field}`;
  }
  const line = lineOf(doc, lineCounter, keyPath ?? path, keyPath !== undefined);
  return { message: `${file}${line ? `:${line}` : ''}: ${field}: ${message}`, fix };
}

/** The 1-based line of the node at `path` (or of its key), or of its nearest existing ancestor. */
function lineOf(doc: Document, lineCounter: LineCounter, path: string[], wantKey: boolean): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    if (wantKey && depth === path.length && depth > 0) {
      const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isNode(item.key) && String(item.key.toJSON()) === prefix.at(-1));
        const range = isNode(pair?.key) ? pair.key.range : undefined;
        if (range) return lineCounter.linePos(range[0]).line;
      }
      continue;
    }
    const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

function valueAt(raw: unknown, path: string[]): unknown {
  let current = raw;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The keys the schema knows at `path` (for "known keys" in an unknown-key error). */
function shapeAt(root: z.ZodType, path: string[]): Record<string, unknown> {
  let schema: unknown = root;
  for (const key of path) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (!shape) return {};
    schema = shape[key];
  }
  return (unwrap(schema) as { shape?: Record<string, unknown> }).shape ?? {};
}

function unwrap(schema: unknown): unknown {
  let current = schema as { _zod?: { def?: { innerType?: unknown } } } | undefined;
  while (current?._zod?.def?.innerType) current = current._zod.def.innerType as typeof current;
  return current;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
