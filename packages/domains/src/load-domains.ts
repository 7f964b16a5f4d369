import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { builtinDomains } from './builtin-domains';
import { DomainCatalog, type LoadedDomain } from './domain-catalog';
import { DomainError, type DomainIssue, formatDomainIssue } from './domain-error';
import { domainEntrySchema, mergeEntry, toYamlPath } from './domain-file';
import { type DomainPreset, domainPresetSchema } from './domain-preset';
import { lineAt } from './yaml-location';

export interface LoadDomainsOptions {
  /** A config file (the seed's `configs/system.yaml`) whose `domains:` mapping adds or overrides presets by name. */
  configFile?: string;
  /**
   * A folder of domain files, one preset a file (`*.yaml`, `*.yml`; the name is the `name:` field or the file name).
   * A folder that does not exist holds no presets. Files are applied after the config file's `domains:`.
   */
  dir?: string;
  /** The presets to start from (default: the built-ins). */
  builtins?: readonly DomainPreset[];
}

/** One parsed YAML file and the preset entries found in it. */
interface SourceEntry {
  file: string;
  /** Field prefix for messages: `domains.<name>` in a config file, nothing in a domain file. */
  prefix: (string | number)[];
  name: string;
  /** The node to search for line numbers, and the path from it to the entry. */
  node: unknown;
  nodePath: string[];
  value: unknown;
  lines: LineCounter;
}

/**
 * The presets in effect: the built-ins, then the config file's `domains:`, then the folder's files; a preset whose
 * name exists already overrides the fields it gives (limits field by field). Every problem in every file is collected
 * into one `DomainError` (`DOMAIN_INVALID`) whose issues name the file, line and field.
 */
export async function loadDomains(options: LoadDomainsOptions = {}): Promise<DomainCatalog> {
  const issues: DomainIssue[] = [];
  const entries: SourceEntry[] = [];
  if (options.configFile) entries.push(...(await configEntries(options.configFile, issues)));
  if (options.dir) entries.push(...(await folderEntries(options.dir, issues)));

  const domains = new Map<string, LoadedDomain>(
    (options.builtins ?? builtinDomains).map((preset) => [preset.name, { preset, source: 'built-in' }]),
  );
  const fromFolder = new Map<string, string>();
  for (const entry of entries) {
    const where = (path: (string | number)[]) => ({
      file: entry.file,
      line: lineAt(entry.node, [...entry.nodePath, ...path], entry.lines),
      field: [...entry.prefix, ...path].join('.'),
    });
    if (entry.prefix.length === 0) {
      const earlier = fromFolder.get(entry.name);
      if (earlier) {
        issues.push({ ...where(['name']), message: `domain "${entry.name}" is already defined in ${earlier}` });
        continue;
      }
      fromFolder.set(entry.name, entry.file);
    }
    const parsed = domainEntrySchema.safeParse(entry.value);
    if (!parsed.success) {
      issues.push(...parsed.error.issues.map((issue) => ({ ...where(issuePath(issue)), message: issue.message })));
      continue;
    }
    if (parsed.data.name !== undefined && parsed.data.name !== entry.name) {
      issues.push({ ...where(['name']), message: `"${parsed.data.name}" does not match the key "${entry.name}"` });
      continue;
    }
    const base = domains.get(entry.name)?.preset;
    const input = mergeEntry(base, { ...parsed.data, name: entry.name });
    const merged = domainPresetSchema.safeParse(input);
    if (!merged.success) {
      for (const issue of merged.error.issues) {
        const path = toYamlPath(issue.path);
        const missing =
          issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], input) === undefined;
        issues.push({
          ...where(path),
          message: missing ? `required for a new domain (no preset "${entry.name}" to override)` : issue.message,
        });
      }
      continue;
    }
    const line = lineAt(entry.node, entry.nodePath, entry.lines);
    domains.set(entry.name, { preset: merged.data, source: line === undefined ? entry.file : `${entry.file}:${line}` });
  }

  if (issues.length > 0) {
    throw new DomainError({
      code: 'DOMAIN_INVALID',
      message: `invalid domain preset${issues.length > 1 ? 's' : ''}:\n${issues.map((i) => `  ${formatDomainIssue(i)}`).join('\n')}`,
      fix: 'correct the fields named above (`unity domains show reasoning` prints a valid preset)',
      issues,
    });
  }
  return new DomainCatalog([...domains.values()]);
}

/** Zod's path, with an unknown key appended so that the key itself is located and named. */
function issuePath(issue: z.core.$ZodIssue): (string | number)[] {
  const path = toYamlPath(issue.path);
  return issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...path, issue.keys[0]] : path;
}

async function readYaml(file: string, issues: DomainIssue[]) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new DomainError({
      code: 'DOMAIN_FILE_UNREADABLE',
      message: `cannot read ${file}: ${(cause as Error).message}`,
      fix: 'check the path (`--config`, or the domains folder)',
      cause,
      issues: [{ file, field: '', message: (cause as Error).message }],
    });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      issues.push({
        file,
        line: lines.linePos(error.pos[0]).line,
        field: '',
        message: error.message.split('\n')[0] ?? '',
      });
    }
    return undefined;
  }
  return { doc, lines };
}

async function configEntries(file: string, issues: DomainIssue[]): Promise<SourceEntry[]> {
  const parsed = await readYaml(file, issues);
  if (!parsed) return [];
  const { doc, lines } = parsed;
  const root = doc.contents;
  if (!isMap(root) || !root.has('domains')) return [];
  const domainsNode = root.get('domains', true);
  if (!isMap(domainsNode)) {
    issues.push({
      file,
      line: lineAt(root, ['domains'], lines),
      field: 'domains',
      message: 'expected a mapping of domain name to preset (e.g. `domains:\\n  sql:\\n    description: …`)',
    });
    return [];
  }
  const value = doc.toJS().domains as Record<string, unknown>;
  return Object.keys(value).map((name) => ({
    file,
    prefix: ['domains', name],
    name,
    node: domainsNode,
    nodePath: [name],
    value: value[name],
    lines,
  }));
}

async function folderEntries(dir: string, issues: DomainIssue[]): Promise<SourceEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DomainError({
      code: 'DOMAIN_FILE_UNREADABLE',
      message: `cannot read the domains folder ${dir}: ${(error as Error).message}`,
      cause: error,
    });
  }
  const entries: SourceEntry[] = [];
  for (const name of names.filter((n) => ['.yaml', '.yml'].includes(extname(n))).sort()) {
    const file = join(dir, name);
    const parsed = await readYaml(file, issues);
    if (!parsed) continue;
    const value = parsed.doc.toJS() as unknown;
    const declared = isMap(parsed.doc.contents) ? parsed.doc.contents.get('name') : undefined;
    entries.push({
      file,
      prefix: [],
      name: typeof declared === 'string' ? declared : basename(name, extname(name)),
      node: parsed.doc.contents,
      nodePath: [],
      value: value ?? {},
      lines: parsed.lines,
    });
  }
  return entries;
}
