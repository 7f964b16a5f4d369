import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinDomains } from './builtin-domains';
import { DomainError } from './domain-error';
import { presetToYaml } from './domain-file';
import { loadDomains } from './load-domains';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'unity-domains-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(root, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function loadError(options: Parameters<typeof loadDomains>[0]): Promise<DomainError> {
  const error = await loadDomains(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!DomainError.isInstance(error)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

const seedConfig = `cloud_llm:
  enabled: true
  provider: "minimax"
models:
  coding: "ollama_chat/qwen2.5-coder:7b"
`;

describe('loadDomains', () => {
  it('gives the built-ins when there is nothing to load', async () => {
    const catalog = await loadDomains();
    expect(catalog.names).toEqual(['calculation-heavy', 'implementation-heavy', 'reasoning', 'research']);
    expect(catalog.get('reasoning')?.source).toBe('built-in');
  });

  it('treats a config file without `domains:` and a missing folder as nothing to add', async () => {
    const configFile = await file('system.yaml', seedConfig);
    const catalog = await loadDomains({ configFile, dir: join(root, 'no-such-folder') });
    expect(catalog.names).toHaveLength(4);
  });

  it('adds a preset from the config file’s domains mapping, named by its key', async () => {
    const configFile = await file(
      'system.yaml',
      `${seedConfig}domains:
  sql:
    description: Write and check SQL
    model_preference: coding
    tools: [read_file, execute_command]
    system_prompt: You write SQL and run it to check it.
    keywords: [sql, query]
    limits:
      max_iterations: 50
`,
    );
    const catalog = await loadDomains({ configFile });
    const sql = catalog.get('sql');
    expect(sql?.source).toBe(`${configFile}:7`);
    expect(sql?.preset).toMatchObject({
      name: 'sql',
      model: 'coding',
      tools: ['read_file', 'execute_command'],
      systemPrompt: 'You write SQL and run it to check it.',
      temperature: 0.2,
      limits: { maxIterations: 50, convergenceWarnings: [50, 100, 200, 500] },
    });
    expect(catalog.names.at(-1)).toBe('sql');
  });

  it('overrides only the given fields of a built-in, limits field by field, keeping its place', async () => {
    const configFile = await file(
      'system.yaml',
      `domains:
  implementation-heavy:
    model_preference: coding
    limits:
      max_iterations: 200
`,
    );
    const catalog = await loadDomains({ configFile });
    const preset = catalog.get('implementation-heavy')?.preset;
    expect(preset?.model).toBe('coding');
    expect(preset?.limits).toEqual({ maxIterations: 200, convergenceWarnings: [50, 100, 200, 500] });
    expect(preset?.systemPrompt).toContain('You implement software changes');
    expect(catalog.names.indexOf('implementation-heavy')).toBe(1);
  });

  it('loads one preset a file from the folder, named by its file when it has no name field', async () => {
    await file(
      'domains/translation.yaml',
      'description: Translate text\nmodel_preference: minimax/MiniMax-M2\nsystem_prompt: Translate faithfully.\n',
    );
    await file('domains/notes.txt', 'not a domain');
    const catalog = await loadDomains({ dir: join(root, 'domains') });
    expect(catalog.get('translation')?.preset.model).toBe('minimax/MiniMax-M2');
    expect(catalog.names).toHaveLength(5);
  });

  it('loads the seed’s preset that names a bare Ollama model, as that model on Ollama', async () => {
    await file(
      'domains/calc.yaml',
      'description: Calculations\nmodel_preference: "qwen2.5-coder:7b"\nsystem_prompt: Compute carefully.\n',
    );
    const catalog = await loadDomains({ dir: join(root, 'domains') });
    expect(catalog.get('calc')?.preset.model).toBe('ollama_chat/qwen2.5-coder:7b');
  });

  it('applies folder files after the config file', async () => {
    const configFile = await file('system.yaml', 'domains:\n  reasoning:\n    temperature: 0.5\n');
    await file('domains/reasoning.yml', 'temperature: 0.9\n');
    const catalog = await loadDomains({ configFile, dir: join(root, 'domains') });
    expect(catalog.get('reasoning')?.preset.temperature).toBe(0.9);
    expect(catalog.get('reasoning')?.source).toBe(`${join(root, 'domains', 'reasoning.yml')}:1`);
  });

  it('names file, line and field of a value of the wrong type', async () => {
    const configFile = await file(
      'system.yaml',
      `${seedConfig}domains:
  reasoning:
    limits:
      max_iterations: lots
`,
    );
    const error = await loadError({ configFile });
    expect(error.code).toBe('DOMAIN_INVALID');
    expect(error.issues).toEqual([
      {
        file: configFile,
        line: 9,
        field: 'domains.reasoning.limits.max_iterations',
        message: expect.stringContaining('expected number'),
      },
    ]);
    expect(error.message).toContain(`${configFile}:9: domains.reasoning.limits.max_iterations:`);
  });

  it('names an unknown field (a typo) at its own line', async () => {
    const path = await file('domains/sql.yaml', 'description: SQL\nmodel_preference: coding\nsytem_prompt: x\n');
    const error = await loadError({ dir: join(root, 'domains') });
    expect(error.issues).toEqual([{ file: path, line: 3, field: 'sytem_prompt', message: expect.any(String) }]);
  });

  it('says which fields a new domain lacks', async () => {
    const path = await file('domains/sql.yaml', 'description: SQL\n');
    const error = await loadError({ dir: join(root, 'domains') });
    expect(error.issues.map((i) => [i.file, i.field, i.message])).toEqual([
      [path, 'model_preference', 'required for a new domain (no preset "sql" to override)'],
      [path, 'system_prompt', 'required for a new domain (no preset "sql" to override)'],
    ]);
  });

  it('collects the problems of every file into one error', async () => {
    const configFile = await file('system.yaml', 'domains:\n  research:\n    temperature: 9\n');
    await file('domains/a.yaml', 'name: Bad Name\n');
    const error = await loadError({ configFile, dir: join(root, 'domains') });
    expect(error.issues.map((i) => `${i.line}:${i.field}`)).toEqual(['3:domains.research.temperature', '1:name']);
  });

  it('refuses a key that disagrees with the name field', async () => {
    const configFile = await file('system.yaml', 'domains:\n  sql:\n    name: other\n');
    const error = await loadError({ configFile });
    expect(error.issues[0]).toMatchObject({ line: 3, field: 'domains.sql.name' });
  });

  it('refuses the same domain in two files of the folder', async () => {
    await file('domains/a.yaml', 'name: sql\ndescription: a\nmodel_preference: coding\nsystem_prompt: a\n');
    const second = await file('domains/b.yaml', 'name: sql\n');
    const error = await loadError({ dir: join(root, 'domains') });
    expect(error.issues).toEqual([
      { file: second, line: 1, field: 'name', message: expect.stringContaining('already defined in') },
    ]);
  });

  it('reports a YAML syntax error with its line', async () => {
    const configFile = await file('system.yaml', 'domains:\n  sql:\n    tools: [read_file\n');
    const error = await loadError({ configFile });
    expect(error.issues[0]?.file).toBe(configFile);
    expect(error.issues[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('refuses `domains:` that is not a mapping', async () => {
    const configFile = await file('system.yaml', 'models: {}\ndomains:\n  - sql\n');
    const error = await loadError({ configFile });
    expect(error.issues[0]).toMatchObject({ line: 2, field: 'domains' });
  });

  it('fails with DOMAIN_FILE_UNREADABLE for a config file that does not exist', async () => {
    const error = await loadError({ configFile: join(root, 'missing.yaml') });
    expect(error.code).toBe('DOMAIN_FILE_UNREADABLE');
    expect(error.message).toContain('missing.yaml');
  });
});

describe('DomainCatalog.require', () => {
  it('names the known domains when the requested one does not exist', async () => {
    const catalog = await loadDomains();
    expect(() => catalog.require('cooking')).toThrow(/no domain named "cooking" \(known: calculation-heavy, /);
  });
});

describe('presetToYaml', () => {
  it('writes a preset that loads back from a domain file as the same preset', async () => {
    const research = builtinDomains.find((d) => d.name === 'research')!;
    const text = presetToYaml({ ...research, name: 'research-copy' });
    expect(text).toContain('model_preference: reasoning\n');
    expect(text).toContain('tools: [web_search, read_file, list_files, search_files, memory_query]\n');
    await file('domains/research-copy.yaml', text);
    const catalog = await loadDomains({ dir: join(root, 'domains') });
    expect(catalog.get('research-copy')?.preset).toEqual({ ...research, name: 'research-copy' });
  });
});
