import type { ToolCall } from '@unity/core';
import type { BenchCheck } from './bench-task';

/** A check's verdict: passed, or why not. */
interface CheckVerdict {
  passed: boolean;
  reason?: string;
}

const show = (value: unknown, max = 120) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/**
 * Where `actual` differs from `expected`: objects are compared by `expected`'s keys (extra keys allowed), arrays
 * element by element and of the same length, everything else by strict equality. Undefined when it matches.
 */
export function firstDifference(actual: unknown, expected: unknown, path = ''): string | undefined {
  const here = path || '(top)';
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return `${here}: expected ${show(expected)}, got ${show(actual)}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const difference = firstDifference(actual[i], expected[i], `${path}[${i}]`);
      if (difference) return difference;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return `${here}: expected an object, got ${show(actual)}`;
    }
    for (const [key, value] of Object.entries(expected)) {
      const difference = firstDifference(
        (actual as Record<string, unknown>)[key],
        value,
        path ? `${path}.${key}` : key,
      );
      if (difference) return difference;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${here}: expected ${show(expected)}, got ${show(actual)}`;
}

/** The JSON an answer holds: all of it, else a fenced block, else the outermost braces or brackets. */
export function answerJson(content: string): { ok: true; value: unknown } | { ok: false } {
  const candidates = [content.trim()];
  const fenced = /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(content);
  if (fenced?.[1]) candidates.push(fenced[1].trim());
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ] as const) {
    const start = content.indexOf(open);
    const end = content.lastIndexOf(close);
    if (start >= 0 && end > start) candidates.push(content.slice(start, end + 1));
  }
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch {
      // the next candidate
    }
  }
  return { ok: false };
}

/** Judge an answer (its text and tool calls) by a task's check. */
export function checkAnswer(
  check: BenchCheck,
  answer: { content: string; toolCalls: readonly ToolCall[] },
): CheckVerdict {
  const { content, toolCalls } = answer;
  switch (check.type) {
    case 'regex': {
      const pattern = new RegExp(check.pattern, check.flags);
      return pattern.test(content)
        ? { passed: true }
        : { passed: false, reason: `no match for /${check.pattern}/${check.flags ?? ''}` };
    }
    case 'contains': {
      const haystack = check.ignoreCase ? content.toLowerCase() : content;
      const missing = check.text.filter((text) => !haystack.includes(check.ignoreCase ? text.toLowerCase() : text));
      return missing.length === 0
        ? { passed: true }
        : { passed: false, reason: `missing ${missing.map((text) => JSON.stringify(text)).join(', ')}` };
    }
    case 'json': {
      const parsed = answerJson(content);
      if (!parsed.ok) return { passed: false, reason: 'the answer holds no JSON' };
      if (check.matches === undefined) return { passed: true };
      const difference = firstDifference(parsed.value, check.matches);
      return difference ? { passed: false, reason: `JSON differs at ${difference}` } : { passed: true };
    }
    case 'tool_call': {
      const calls = toolCalls.filter((call) => call.name === check.name);
      if (calls.length === 0) {
        const made = toolCalls.map((call) => call.name).join(', ') || 'none';
        return { passed: false, reason: `no call to ${check.name} (calls: ${made})` };
      }
      const expected = check.arguments;
      if (expected === undefined) return { passed: true };
      const differences = calls.map((call) => firstDifference(call.arguments, expected));
      if (differences.some((difference) => difference === undefined)) return { passed: true };
      return { passed: false, reason: `${check.name} called with arguments that differ at ${differences[0]}` };
    }
  }
}
