import { parseSettings } from '@unity/config';
import type { ToolDefinition } from '@unity/core';
import { z } from 'zod';
import defaultTasksFile from './default-tasks.json';

const validRegex = (pattern: string, flags = '') => {
  try {
    new RegExp(pattern, flags);
    return true;
  } catch {
    return false;
  }
};

/** How a task's answer is judged: a regex, texts it contains, JSON it parses as, or a tool call it makes. */
const checkSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('regex'),
      pattern: z.string().min(1),
      flags: z
        .string()
        .regex(/^[imsu]*$/, 'expected regex flags among i, m, s, u')
        .optional(),
    })
    .refine((check) => validRegex(check.pattern, check.flags), {
      path: ['pattern'],
      message: 'not a valid regular expression',
    }),
  z.strictObject({
    type: z.literal('contains'),
    /** Every one of these must appear in the answer. */
    text: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    ignore_case: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal('json'),
    /** The parsed answer must contain this: objects by key (extra keys allowed), arrays element by element. */
    matches: z.unknown().optional(),
  }),
  z.strictObject({
    type: z.literal('tool_call'),
    name: z.string().min(1),
    /** One call to `name` must carry these arguments (extra ones allowed). */
    arguments: z.record(z.string(), z.unknown()).optional(),
  }),
]);

const toolSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 letters, digits, "_" or "-"'),
  description: z.string().default(''),
  parameters: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
});

const taskSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1–64 letters, digits, ".", "_" or "-"'),
  /** A label for grouping (`coding`, `tools` …). */
  category: z.string().min(1).max(40).optional(),
  prompt: z.string().min(1),
  system: z.string().min(1).optional(),
  tools: z.array(toolSchema).min(1).optional(),
  max_output_tokens: z.number().int().positive().default(512),
  /** Without one, the task is timed but not judged. */
  check: checkSchema.optional(),
});

/** A task file: `{ tasks: [...] }`, in JSON or YAML. */
const benchTasksFileSchema = z.strictObject({ tasks: z.array(taskSchema).min(1) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.tasks.forEach((task, index) => {
    if (seen.has(task.id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tasks', index, 'id'],
        message: `"${task.id}" is the id of an earlier task`,
      });
    }
    seen.add(task.id);
    const check = task.check;
    if (check?.type === 'tool_call' && !task.tools?.some((tool) => tool.name === check.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tasks', index, 'check', 'name'],
        message: `the task offers no tool "${check.name}"`,
        params: { fix: `add a tool named ${check.name} under tasks.${index}.tools, or check for one it offers` },
      });
    }
  });
});

type CheckInput = z.output<typeof checkSchema>;

/** How an answer is judged (the task file's `check`, with list fields as lists). */
export type BenchCheck =
  | { type: 'regex'; pattern: string; flags?: string }
  | { type: 'contains'; text: string[]; ignoreCase: boolean }
  | { type: 'json'; matches?: unknown }
  | { type: 'tool_call'; name: string; arguments?: Record<string, unknown> };

/** One task of a model bench: the same request sent to every model. */
export interface BenchTask {
  id: string;
  category?: string;
  prompt: string;
  system?: string;
  tools?: ToolDefinition[];
  /** The cap on the reply, in tokens. */
  maxOutputTokens: number;
  check?: BenchCheck;
}

function toCheck(check: CheckInput): BenchCheck {
  switch (check.type) {
    case 'regex':
      return { type: 'regex', pattern: check.pattern, ...(check.flags ? { flags: check.flags } : {}) };
    case 'contains':
      return {
        type: 'contains',
        text: Array.isArray(check.text) ? check.text : [check.text],
        ignoreCase: check.ignore_case,
      };
    case 'json':
      return check.matches === undefined ? { type: 'json' } : { type: 'json', matches: check.matches };
    case 'tool_call':
      return { type: 'tool_call', name: check.name, ...(check.arguments ? { arguments: check.arguments } : {}) };
  }
}

function toTasks(file: z.output<typeof benchTasksFileSchema>): BenchTask[] {
  return file.tasks.map((task) => ({
    id: task.id,
    ...(task.category ? { category: task.category } : {}),
    prompt: task.prompt,
    ...(task.system ? { system: task.system } : {}),
    ...(task.tools
      ? {
          tools: task.tools.map((tool) => ({
            name: tool.name,
            description: tool.description,
            parameters: tool.parameters,
          })),
        }
      : {}),
    maxOutputTokens: task.max_output_tokens,
    ...(task.check ? { check: toCheck(task.check) } : {}),
  }));
}

/**
 * The tasks of a task file (`--tasks`): JSON or YAML text of `{ tasks: [{ id, category?, prompt, system?, tools?,
 * max_output_tokens?, check? }] }`. `file` names it in errors: a `ConfigError` (CONFIG_INVALID) naming the file, line,
 * task index and field (`tasks.2.check.pattern: not a valid regular expression`), with the fix.
 */
export function parseBenchTasks(text: string, file: string): BenchTask[] {
  return toTasks(parseSettings(text, file, benchTasksFileSchema).value);
}

/** The built-in task set: a few coding tasks and tool-calling tasks, each with an automatic check. */
export const defaultBenchTasks: readonly BenchTask[] = Object.freeze(
  toTasks(benchTasksFileSchema.parse(defaultTasksFile)),
);
