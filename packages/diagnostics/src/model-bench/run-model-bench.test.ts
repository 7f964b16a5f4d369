// The model bench over real HTTP: the test kit's fake OpenAI server (the cloud) and fake Ollama, through the real
// router limited to one model at a time, with a model that fails every task and a task that fails its check.
import { ConfigError } from '@unity/config';
import { parseConfig } from '@unity/llm-router';
import { FakeOllama, FakeOpenAI, gatewayConfigYaml, type Reply } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { benchChartSvg } from './bench-chart';
import { benchModelsFromConfig } from './bench-model';
import { benchPrices } from './bench-prices';
import { type BenchTask, defaultBenchTasks, parseBenchTasks } from './bench-task';
import { runModelBench } from './run-model-bench';

let cloud: FakeOpenAI;
let local: FakeOllama;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
});
afterAll(async () => {
  await cloud.close();
  await local.close();
});
beforeEach(() => {
  cloud.reset();
  local.reset();
});

const config = () =>
  parseConfig(gatewayConfigYaml({ cloudBaseUrl: cloud.baseURL, ollamaHost: local.host }), 'bench.yaml');

const tasks: BenchTask[] = [
  {
    id: 'js-add',
    category: 'coding',
    prompt: 'Write a JavaScript function named add.',
    maxOutputTokens: 100,
    check: { type: 'regex', pattern: 'function\\s+add\\s*\\(' },
  },
  {
    id: 'tool-read',
    category: 'tools',
    prompt: 'Read notes.txt.',
    maxOutputTokens: 100,
    tools: [
      {
        name: 'read_file',
        description: 'read',
        parameters: { type: 'object', properties: { path: { type: 'string' } } },
      },
    ],
    check: { type: 'tool_call', name: 'read_file', arguments: { path: 'notes.txt' } },
  },
  {
    id: 'capital',
    prompt: 'What is the capital of France?',
    maxOutputTokens: 20,
    check: { type: 'contains', text: ['Paris'], ignoreCase: true },
  },
  { id: 'unchecked', prompt: 'Say anything.', maxOutputTokens: 20 },
];

/** The cloud answers right but for the capital; Ollama answers every task with the same wrong text. */
function cloudReply(prompt: string): Reply {
  if (prompt.includes('JavaScript'))
    return { text: 'function add(a, b) { return a + b; }', usage: { promptTokens: 10, completionTokens: 12 } };
  if (prompt.includes('notes.txt')) return { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }] };
  if (prompt.includes('capital')) return { text: 'Lyon' };
  return { text: 'anything at all' };
}

const lastUser = (body: Record<string, unknown>) =>
  String((body.messages as Array<{ content: string }>).at(-1)?.content ?? '');

describe('runModelBench against the fakes', () => {
  it('measures each model on every task: latency, first token, tokens/s, pass rate and cost', async () => {
    cloud.setDefault((request) => cloudReply(lastUser(request.body)));
    local.setDefault({ text: 'I do not know how.' });
    const { models, close } = benchModelsFromConfig(
      ['openai/MiniMax-M2', 'qwen2.5-coder:7b', 'ollama_chat/missing-model:1b'],
      { config: config(), env: { TEST_CLOUD_KEY: 'sk-test' } },
    );
    const progress: string[] = [];
    try {
      const result = await runModelBench({
        models,
        tasks,
        prices: { 'openai/MiniMax-M2': { input_per_mtok: 1000, output_per_mtok: 2000 } },
        onEvent: (event) => progress.push(`${event.index}/${event.total} ${event.model} ${event.result.task}`),
      });
      expect(result.tasks).toEqual([
        { id: 'js-add', category: 'coding', checked: true },
        { id: 'tool-read', category: 'tools', checked: true },
        { id: 'capital', checked: true },
        { id: 'unchecked', checked: false },
      ]);
      expect(progress).toHaveLength(12);
      expect(progress[0]).toBe('1/12 openai/MiniMax-M2 js-add');

      const [cloudModel, localModel, missing] = result.models;
      expect(cloudModel).toMatchObject({ model: 'openai/MiniMax-M2', tasks: 4, errors: 0, checked: 3, passed: 2 });
      expect(cloudModel?.passRate).toBeCloseTo(2 / 3);
      for (const figure of ['latencyMs', 'ttftMs', 'tokensPerSecond', 'costUsd'] as const) {
        expect(cloudModel?.[figure], figure).toEqual(expect.any(Number));
      }
      const add = cloudModel?.results.find((r) => r.task === 'js-add');
      expect(add).toMatchObject({
        answered: true,
        passed: true,
        inputTokens: 10,
        outputTokens: 12,
        model: 'MiniMax-M2',
      });
      expect(add?.costUsd).toBeCloseTo((10 * 1000 + 12 * 2000) / 1_000_000);
      expect(cloudModel?.results.find((r) => r.task === 'tool-read')).toMatchObject({
        passed: true,
        toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }],
      });
      expect(cloudModel?.results.find((r) => r.task === 'capital')).toMatchObject({
        answered: true,
        passed: false,
        reason: 'missing "Paris"',
        answer: 'Lyon',
      });
      expect(cloudModel?.results.find((r) => r.task === 'unchecked')?.passed).toBeNull();

      expect(localModel).toMatchObject({ model: 'qwen2.5-coder:7b', errors: 0, checked: 3, passed: 0, passRate: 0 });
      expect(localModel?.costUsd).toBeNull();
      expect(localModel?.latencyMs).toEqual(expect.any(Number));
      expect(localModel?.results.find((r) => r.task === 'tool-read')?.reason).toBe(
        'no call to read_file (calls: none)',
      );

      expect(missing).toMatchObject({
        errors: 4,
        passed: 0,
        passRate: 0,
        latencyMs: null,
        ttftMs: null,
        tokensPerSecond: null,
      });
      expect(missing?.firstError).toContain('not found');
      // Limited to the model asked for: the missing one never falls back to the role's model, or to the cloud.
      expect(local.requestsTo('/api/chat').map((r) => (r.body as { model: string }).model)).toEqual(
        Array(4).fill('qwen2.5-coder:7b'),
      );
      expect(cloud.requestsTo('/chat/completions')).toHaveLength(4);
    } finally {
      await close();
    }
  });

  it('records a task the model does not answer in time as an error naming the timeout, and goes on', async () => {
    cloud.enqueue({ fault: 'hang' }, { text: 'function add(x, y) { return x + y; }' });
    const { models, close } = benchModelsFromConfig(['openai/MiniMax-M2'], {
      config: config(),
      env: { TEST_CLOUD_KEY: 'sk-test' },
    });
    try {
      const [capital, add] = [tasks[2] as BenchTask, tasks[0] as BenchTask];
      const result = await runModelBench({ models, tasks: [capital, add], timeoutMs: 300 });
      expect(result.models[0]?.results.map((r) => [r.task, r.answered, r.passed])).toEqual([
        ['capital', false, false],
        ['js-add', true, true],
      ]);
      expect(result.models[0]?.results[0]?.error).toBe('no answer within 300 ms (the task timeout)');
      expect(result.models[0]?.passRate).toBe(0.5);
    } finally {
      await close();
    }
  });

  it('stops when its signal is aborted', async () => {
    cloud.setDefault({ fault: 'hang' });
    const { models, close } = benchModelsFromConfig(['openai/MiniMax-M2'], {
      config: config(),
      env: { TEST_CLOUD_KEY: 'sk-test' },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 100);
    try {
      await expect(runModelBench({ models, tasks, signal: controller.signal })).rejects.toThrow();
      expect(cloud.requestsTo('/chat/completions')).toHaveLength(1);
    } finally {
      await close();
    }
  });
});

describe('benchPrices', () => {
  it('takes server.prices per million tokens, agent.budget.prices (per 1000) over them, or one price for every model', () => {
    const serverPrices = {
      'minimax/MiniMax-M2': { input_per_mtok: 0.3, output_per_mtok: 1.2 },
      gpt: { input_per_mtok: 1, output_per_mtok: 1 },
    };
    const prices = benchPrices({ serverPrices, agentPrices: { gpt: { inputPer1k: 0.002, outputPer1k: 0.004 } } });
    expect(prices?.['minimax/MiniMax-M2']).toEqual({ input_per_mtok: 0.3, output_per_mtok: 1.2 });
    expect(prices?.gpt?.input_per_mtok).toBeCloseTo(2);
    expect(prices?.gpt?.output_per_mtok).toBeCloseTo(4);
    const every = { input_per_mtok: 5, output_per_mtok: 6 };
    expect(benchPrices({ serverPrices, everyModel: every })).toEqual({ '*': every });
    expect(benchPrices({ serverPrices: {}, agentPrices: {} })).toBeUndefined();
  });
});

describe('parseBenchTasks', () => {
  it('reads a YAML task file, lists as lists and defaults filled in', () => {
    const parsed = parseBenchTasks(
      [
        'tasks:',
        '  - id: greet',
        '    prompt: Say hello.',
        '    check: { type: contains, text: hello, ignore_case: true }',
        '  - id: weather',
        '    prompt: Weather in Oslo?',
        '    tools:',
        '      - name: get_weather',
        '        parameters: { type: object, properties: { city: { type: string } } }',
        '    check: { type: tool_call, name: get_weather, arguments: { city: Oslo } }',
      ].join('\n'),
      'tasks.yaml',
    );
    expect(parsed).toEqual([
      {
        id: 'greet',
        prompt: 'Say hello.',
        maxOutputTokens: 512,
        check: { type: 'contains', text: ['hello'], ignoreCase: true },
      },
      {
        id: 'weather',
        prompt: 'Weather in Oslo?',
        maxOutputTokens: 512,
        tools: [
          {
            name: 'get_weather',
            description: '',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
        ],
        check: { type: 'tool_call', name: 'get_weather', arguments: { city: 'Oslo' } },
      },
    ]);
  });

  it.each([
    [
      'a regex that does not compile',
      '{"tasks": [{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y", "check": {"type": "regex", "pattern": "("}}]}',
      /tasks\.json:1: tasks\.1\.check\.pattern: not a valid regular expression/,
    ],
    [
      'a task without a prompt',
      'tasks:\n  - id: a\n  - id: b\n    prompt: y\n',
      /tasks\.json:2: tasks\.0\.prompt: missing string/,
    ],
    [
      'an unknown check type',
      'tasks:\n  - id: a\n    prompt: x\n    check: { type: exact }\n',
      /tasks\.0\.check\.type/,
    ],
    [
      'a field of the wrong type',
      'tasks:\n  - id: a\n    prompt: x\n    max_output_tokens: lots\n',
      /tasks\.0\.max_output_tokens: expected number, got "lots"/,
    ],
    [
      'two tasks with one id',
      'tasks:\n  - id: a\n    prompt: x\n  - id: a\n    prompt: y\n',
      /tasks\.1\.id: "a" is the id of an earlier task/,
    ],
    [
      'a tool call check for a tool the task does not offer',
      'tasks:\n  - id: a\n    prompt: x\n    check: { type: tool_call, name: run }\n',
      /tasks\.0\.check\.name: the task offers no tool "run"/,
    ],
    ['an unknown field', 'tasks:\n  - id: a\n    prompt: x\n    expect: y\n', /tasks\.0: unknown key expect/],
    ['no tasks', 'tasks: []\n', /tasks: /],
  ])('refuses %s, naming the file, the task index and the field', (_what, text, message) => {
    const error = (() => {
      try {
        parseBenchTasks(text, 'tasks.json');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('ships a default task set of coding and tool-calling tasks, each with a check', () => {
    expect(defaultBenchTasks.length).toBeGreaterThanOrEqual(5);
    expect(defaultBenchTasks.every((task) => task.check !== undefined)).toBe(true);
    expect(new Set(defaultBenchTasks.map((task) => task.category))).toEqual(new Set(['coding', 'knowledge', 'tools']));
    expect(defaultBenchTasks.filter((task) => task.check?.type === 'tool_call').length).toBeGreaterThanOrEqual(2);
  });
});

/** Whether `xml` is well-formed as far as tags go: every element closed, in order, attributes quoted. */
function wellFormed(xml: string): boolean {
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^>]*\?>/, '');
  for (const match of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else if (!selfClosing) stack.push(name as string);
  }
  const stripped = body.replace(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g, '');
  return stack.length === 0 && !/[<>]/.test(stripped) && !/&(?!amp;|lt;|gt;|quot;|apos;)/.test(stripped);
}

describe('benchChartSvg', () => {
  it('draws one bar per model and figure, labels a missing figure "–", and escapes model names', () => {
    const svg = benchChartSvg({
      startedAt: '2026-01-01T00:00:00.000Z',
      tasks: [{ id: 'a', checked: true }],
      models: [
        {
          model: 'openai/<fast>&"good"',
          tasks: 1,
          errors: 0,
          checked: 1,
          passed: 1,
          passRate: 1,
          latencyMs: 120,
          ttftMs: 40,
          tokensPerSecond: 55.5,
          inputTokens: 1,
          outputTokens: 1,
          costUsd: null,
          results: [],
        },
        {
          model: 'ollama_chat/x',
          tasks: 1,
          errors: 1,
          checked: 1,
          passed: 0,
          passRate: 0,
          latencyMs: null,
          ttftMs: null,
          tokensPerSecond: null,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: null,
          results: [],
        },
      ],
    });
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(wellFormed(svg)).toBe(true);
    expect(svg).toContain('openai/&lt;fast&gt;&amp;&quot;good&quot;');
    // 4 figures for the first model, the pass rate (0 %) for the second, and the background.
    expect(svg.match(/<rect /g)).toHaveLength(6);
    expect(svg.match(/>–</g)).toHaveLength(3);
    for (const label of ['100%', '>120<', '>40<', '>55.5<', '>0%<'])
      expect(svg).toContain(label.replace(/^(\d)/, '>$1'));
  });
});
