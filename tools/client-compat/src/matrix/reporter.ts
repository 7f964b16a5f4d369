// A Vitest reporter that writes MATRIX.md from the run: each planned cell (plan.ts) is "works" or "clear error" only
// when a passing test recorded it (cells.ts), "FAILS" when such a test failed, "not yet" when no test covers it.
// It writes only after a run of every test file, so a filtered run never rewrites the matrix with gaps.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import type { Cell } from './cells.ts';
import { type Client, clientNames, clients, type Feature, plan } from './plan.ts';

/** What the run showed of one cell: the cells its passing tests recorded, its failed tests, all its tests' names. */
export interface Observed {
  passed: Cell[];
  failed: string[];
  tests: string[];
}

export class MatrixReporter implements Reporter {
  constructor(private readonly projectRoot: string) {}

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, _errors: unknown, reason: string): void {
    if (reason === 'interrupted') return;
    const ran = new Set(testModules.map((m) => m.moduleId));
    const all = testFiles(join(this.projectRoot, 'src'));
    if (all.some((file) => !ran.has(file))) return;

    const observed = new Map<string, Observed>();
    const at = (client: string, feature: string) => {
      const key = `${client}\u0000${feature}`;
      const o = observed.get(key) ?? { passed: [], failed: [], tests: [] };
      observed.set(key, o);
      return o;
    };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const named = cellOfName(test.name);
        if (!named) continue;
        const o = at(named.client, named.feature);
        o.tests.push(named.behaviour);
        const state = test.result().state;
        const cell = test.meta().cell;
        if (state === 'passed' && cell) o.passed.push(cell);
        else if (state === 'failed') o.failed.push(named.behaviour);
      }
    }
    writeFileSync(
      join(this.projectRoot, 'MATRIX.md'),
      render((c, f) => observed.get(`${c}\u0000${f}`)),
    );
  }
}

/** `<client> · <feature>: <behaviour>`, as cells.ts names tests (a feature may itself hold a colon). */
function cellOfName(name: string): { client: Client; feature: Feature; behaviour: string } | undefined {
  for (const client of clients) {
    for (const feature of Object.keys(plan) as Feature[]) {
      const prefix = `${client} · ${feature}: `;
      if (name.startsWith(prefix)) return { client, feature, behaviour: name.slice(prefix.length) };
    }
  }
  return undefined;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
}

type Lookup = (client: Client, feature: Feature) => Observed | undefined;

/** A cell's word in the table. */
export function summary(o: Observed | undefined): string {
  if (!o || (o.passed.length === 0 && o.failed.length === 0)) return 'not yet';
  if (o.failed.length > 0) return '**FAILS**';
  const errors = o.passed.filter((c) => c.outcome === 'error');
  if (errors.length === 0) return 'works';
  const statuses = [...new Set(errors.map((c) => c.status))].join('/');
  return errors.length === o.passed.length ? `clear error (${statuses})` : `works · clear error (${statuses})`;
}

function render(lookup: Lookup): string {
  const features = Object.keys(plan) as Feature[];
  const callOf = (feature: Feature, client: Client) =>
    (plan[feature] as Partial<Record<Client, string>>)[client] as string | undefined;
  const lines = [
    '# Client compatibility matrix',
    '',
    "Written by `src/matrix/reporter.ts` from the last full run of this project's tests (`npx nx test",
    '@unity/client-compat`): each official client drives the real gateway over the test kit\'s fake upstreams. "works":',
    'a passing test asserted the answer (content, tool call, parsed object, vector) and, where it matters, that the',
    'upstream received the parameter. "clear error": a passing test asserted a 4xx naming what is unsupported.',
    '"works · clear error (404)": the call works, and the misuse its tests try (an unknown model, a parameter nothing',
    'here can honour) gets that clear error. "not yet": no test covers the call yet. "—": the client has no such call.',
    'The sections below give each call, the messages of the errors and the tests. Do not edit by hand.',
    '',
    `| feature | ${clients.map((c) => clientNames[c]).join(' | ')} |`,
    `| --- | ${clients.map(() => '---').join(' | ')} |`,
    ...features.map(
      (f) => `| ${f} | ${clients.map((c) => (callOf(f, c) === undefined ? '—' : summary(lookup(c, f)))).join(' | ')} |`,
    ),
    '',
  ];
  for (const client of clients) {
    lines.push(`## ${clientNames[client]}`, '', '| feature | call | result | tests |', '| --- | --- | --- | --- |');
    for (const feature of features) {
      const call = callOf(feature, client);
      if (call === undefined) continue;
      const o = lookup(client, feature);
      const errors = (o?.passed ?? []).filter((c) => c.outcome === 'error').map((c) => `${c.status} "${c.message}"`);
      const result = [summary(o), ...errors].join('<br>');
      lines.push(`| ${feature} | \`${call}\` | ${cellText(result)} | ${cellText((o?.tests ?? []).join('<br>'))} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const cellText = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
