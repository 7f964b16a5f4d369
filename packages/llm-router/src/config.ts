import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { nearestName } from '@unity/core';
import { isMap, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type UnityConfig, unityConfigSchema } from './config-schema';
import { ConfigError } from './errors';

/**
 * Schemas of further top-level sections (`agent:`, `server:` …) that other packages read from the same file. They are
 * validated with the router's own sections, so their errors name the file, line and field too.
 */
export type ConfigSections = Record<string, z.ZodType>;

/** The config with the given extra sections, parsed by their schemas. */
export type ConfigWith<S extends ConfigSections> = UnityConfig & { [K in keyof S]: z.output<S[K]> };

export interface LoadConfigOptions<S extends ConfigSections = Record<never, z.ZodType>> {
  /** Extra sections to validate along with the router's. */
  sections?: S;
  /** An explicit file (`--config`): it must exist. */
  path?: string;
  /** Where relative paths and `./configs/system.yaml` are resolved (default: process.cwd()). */
  cwd?: string;
  /** The environment to read `UNITY_CONFIG` from (default: none is read). */
  env?: Record<string, string | undefined>;
}

export interface LoadedConfig<C extends UnityConfig = UnityConfig> {
  config: C;
  /** The file the config came from, or `built-in defaults`. */
  source: string;
}

/** The built-in defaults: the seed's `configs/system.yaml` (MiniMax-M2 first, qwen2.5-coder:7b locally). */
export const defaultConfig: UnityConfig = Object.freeze(unityConfigSchema.parse({})) as UnityConfig;

export const defaultConfigPath = join('configs', 'system.yaml');

/**
 * Find and read the config: `options.path`, else `env.UNITY_CONFIG`, else `./configs/system.yaml` when present, else
 * the built-in defaults (equal to the seed's). A file that is named but missing is an error; so is any invalid value,
 * reported with its file, line and field.
 */
export async function loadConfig<S extends ConfigSections = Record<never, z.ZodType>>(
  options: LoadConfigOptions<S> = {},
): Promise<LoadedConfig<ConfigWith<S>>> {
  const { sections } = options;
  const cwd = options.cwd ?? process.cwd();
  const named = options.path ?? options.env?.UNITY_CONFIG;
  if (named !== undefined && named !== '') {
    const file = isAbsolute(named) ? named : resolve(cwd, named);
    const via = options.path !== undefined ? '--config' : 'UNITY_CONFIG';
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError({
        code: 'CONFIG_NOT_FOUND',
        message: `config file ${named} (from ${via}) cannot be read: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
        fix: `create it, or point ${via} at an existing file (the seed's layout is configs/system.yaml)`,
        cause: error,
      });
    });
    return { config: parseConfig(text, named, sections), source: named };
  }
  const fallback = join(cwd, defaultConfigPath);
  const text = await readFile(fallback, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new ConfigError({
      code: 'CONFIG_NOT_FOUND',
      message: `config file ${defaultConfigPath} cannot be read: ${error.message}`,
      fix: 'fix its permissions, or pass --config FILE',
      cause: error,
    });
  });
  if (text === undefined) {
    const config = (sections ? parseConfig('', 'built-in defaults', sections) : defaultConfig) as ConfigWith<S>;
    return { config, source: 'built-in defaults' };
  }
  return { config: parseConfig(text, defaultConfigPath, sections), source: defaultConfigPath };
}

/**
 * Parse and validate YAML text as a Unity config, with any extra `sections`. `file` names it in errors: every problem
 * is reported as `file:line: field: what is wrong`, with the fix.
 */
export function parseConfig<S extends ConfigSections = Record<never, z.ZodType>>(
  text: string,
  file = 'config',
  sections?: S,
): ConfigWith<S> {
  const schema = sections ? unityConfigSchema.extend(sections) : unityConfigSchema;
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
  const misspelt = misspeltSection(raw as Record<string, unknown>, Object.keys(schema.shape), doc, lineCounter, file);
  if (misspelt) throw misspelt;
  const result = schema.safeParse(raw);
  if (result.success) return result.data as ConfigWith<S>;
  const problems = result.error.issues.map((issue) => describeIssue(issue, raw, file, doc, lineCounter, schema));
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
  doc: ReturnType<typeof parseDocument>,
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

/** The environment variable holding the cloud key: `cloud_llm.api_key_env`, else the provider's usual one. */
export function cloudApiKeyEnv(config: UnityConfig): string {
  return (
    config.cloud_llm.api_key_env ?? (config.cloud_llm.provider === 'openai' ? 'OPENAI_API_KEY' : 'MINIMAX_API_KEY')
  );
}

export const defaultOllamaHost = 'http://127.0.0.1:11434';

/** `ollama.host`, else `OLLAMA_HOST` (a bare `host:port` gets `http://`), else http://127.0.0.1:11434. */
export function ollamaHost(config: UnityConfig, env: Record<string, string | undefined> = {}): string {
  const host = config.ollama.host ?? env.OLLAMA_HOST;
  if (!host) return defaultOllamaHost;
  return /^[a-z]+:\/\//i.test(host) ? host : `http://${host}`;
}

interface Problem {
  message: string;
  fix: string;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  raw: unknown,
  file: string,
  doc: ReturnType<typeof parseDocument>,
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
function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: string[],
  wantKey: boolean,
): number | undefined {
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
