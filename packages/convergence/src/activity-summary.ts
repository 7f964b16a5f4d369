import type { CallRecord } from './call-record';

export interface ActivitySummaryOptions {
  /** How many of the most recent calls to describe (default 30). */
  window?: number;
  /** Tools that change the workspace, counted as writes (default: `write_file`). */
  writeTools?: readonly string[];
}

/** How the executed tool calls of a run ended: the agent loop's tool-call success rate is `succeeded / (succeeded + failed)`. */
export interface ToolCallOutcomes {
  succeeded: number;
  failed: number;
}

/** Count the calls that succeeded and failed (a call the executor returned nothing for counts as failed). */
export function countToolOutcomes(records: readonly Pick<CallRecord, 'ok'>[]): ToolCallOutcomes {
  let succeeded = 0;
  for (const record of records) if (record.ok) succeeded++;
  return { succeeded, failed: records.length - succeeded };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "read_file on 3 files" / "execute_command with 2 distinct arguments" for one tool's calls. */
function describeGroup(name: string, calls: CallRecord[]): string {
  const paths = new Set(calls.flatMap((c) => c.paths));
  if (paths.size > 0) return `${name} on ${plural(paths.size, 'file')}`;
  const distinct = new Set(calls.map((c) => c.fingerprint)).size;
  if (calls.length === 1) return name;
  return distinct === 1 ? `${name} with the same arguments` : `${name} with ${distinct} distinct arguments`;
}

/**
 * A factual account of recent tool use for reminders: "22 of the last 30 calls were read_file on 3 files, 8 were
 * search_files with 8 distinct arguments; no writes; 2 failed".
 */
export function summariseActivity(records: readonly CallRecord[], options: ActivitySummaryOptions = {}): string {
  const window = options.window ?? 30;
  const writeTools = new Set(options.writeTools ?? ['write_file']);
  const recent = records.slice(-window);
  if (recent.length === 0) return 'no tool calls yet';
  const groups = new Map<string, CallRecord[]>();
  for (const record of recent) groups.set(record.name, [...(groups.get(record.name) ?? []), record]);
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const scope =
    recent.length === records.length
      ? `the ${plural(recent.length, 'call')} so far`
      : `the last ${recent.length} calls`;
  const shown = sorted.slice(0, 4).map(([name, calls], i) => {
    const verb = calls.length === 1 ? 'was' : 'were';
    const head = i === 0 ? `${calls.length} of ${scope} ${verb}` : `${calls.length} ${verb}`;
    return `${head} ${describeGroup(name, calls)}`;
  });
  const rest = sorted.slice(4).reduce((n, [, calls]) => n + calls.length, 0);
  if (rest > 0) shown.push(`${rest} went to ${plural(sorted.length - 4, 'other tool')}`);
  const parts = [shown.join(', ')];
  const writes = recent.filter((r) => r.ok && writeTools.has(r.name));
  if (writes.length === 0) parts.push('no writes');
  else {
    const files = new Set(writes.flatMap((w) => w.paths));
    parts.push(
      files.size > 0
        ? `${plural(writes.length, 'write')} to ${plural(files.size, 'file')}`
        : plural(writes.length, 'write'),
    );
  }
  const failed = recent.filter((r) => !r.ok).length;
  if (failed > 0) parts.push(`${failed} failed`);
  return parts.join('; ');
}
