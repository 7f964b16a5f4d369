import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouter, loadConfig, type Router } from '@unity/llm-router';
import { type ChatRequestInfo, FakeOllama, FakeOpenAI, type ScriptedToolCall } from '@unity/test-kit';
import { createToolExecutor } from '@unity/tools';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from './agent-events';
import { runAgent } from './agent-loop';
import type { AgentOptions } from './agent-options';

let cloud: FakeOpenAI;
let local: FakeOllama;
let root: string;
let configDir: string;
let router: Router;

/** The real router over the two fakes: MiniMax-style cloud first, then the local Ollama model; no retries. */
async function createTestRouter(): Promise<Router> {
  const file = join(configDir, 'system.yaml');
  await writeFile(
    file,
    [
      'cloud_llm:',
      '  provider: minimax',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      '  api_key_env: TEST_CLOUD_KEY',
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'ollama:',
      `  host: ${local.host}`,
      'router:',
      '  retries: { max_retries: 0 }',
      '  breaker: { failure_threshold: 1000 }',
    ].join('\n'),
  );
  const { config } = await loadConfig({ path: file });
  return createRouter({ config, env: { TEST_CLOUD_KEY: 'test-key' } });
}

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
});
afterAll(async () => {
  await cloud.close();
  await local.close();
});
beforeEach(async () => {
  cloud.reset();
  local.reset();
  configDir = await mkdtemp(join(tmpdir(), 'unity-agent-config-'));
  root = await mkdtemp(join(tmpdir(), 'unity-agent-'));
  router = await createTestRouter();
  for (const name of ['a.txt', 'b.txt', 'c.txt']) {
    await writeFile(join(root, name), Array.from({ length: 40 }, (_, i) => `${name} line ${i + 1}`).join('\n'));
  }
});
afterEach(async () => {
  await router.close();
  await rm(root, { recursive: true, force: true });
  await rm(configDir, { recursive: true, force: true });
});

const call = (name: string, args: Record<string, unknown>): ScriptedToolCall => ({ name, arguments: args });
const offeredTools = (request: ChatRequestInfo) => Array.isArray(request.body.tools) && request.body.tools.length > 0;
type BodyMessage = { role: string; content?: string; tool_call_id?: string; tool_calls?: unknown[] };
const bodyMessages = (i: number): BodyMessage[] =>
  (cloud.requestsTo('/chat/completions')[i]!.body as { messages: BodyMessage[] }).messages;

async function run(options: Partial<AgentOptions> = {}) {
  const events: AgentEvent[] = [];
  const result = await runAgent({
    model: router,
    tools: createToolExecutor({ root }),
    task: 'Find out what the files say.',
    root,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return {
    result,
    events,
    ofType: <T extends AgentEvent['type']>(t: T) =>
      events.filter((e) => e.type === t) as Extract<AgentEvent, { type: T }>[],
  };
}

describe('runAgent', () => {
  it('returns at once when the model answers without tool calls', async () => {
    cloud.enqueue({ text: 'Nothing to look up: 42.' });
    const { result, ofType } = await run();
    expect(result).toMatchObject({
      stopReason: 'completed',
      answer: 'Nothing to look up: 42.',
      iterations: 1,
      toolCalls: {},
    });
    expect(result.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(ofType('tool-call')).toEqual([]);
    expect(ofType('stop')[0]?.result.stopReason).toBe('completed');
  });

  it('feeds each result back under its call id and ends when the model answers', async () => {
    cloud.enqueue({ toolCalls: [call('read_file', { path: 'a.txt' }), call('read_file', { path: 'b.txt' })] });
    cloud.enqueue({ text: 'a and b are numbered lines.' });
    const { result } = await run();
    expect(result).toMatchObject({ stopReason: 'completed', iterations: 2, toolCalls: { read_file: 2 } });
    const second = bodyMessages(1);
    const assistant = second[1] as { tool_calls: { id: string }[] };
    const ids = assistant.tool_calls.map((c) => c.id);
    expect(second.slice(2).map((m) => [m.role, m.tool_call_id])).toEqual([
      ['tool', ids[0]],
      ['tool', ids[1]],
    ]);
    expect(second[2]?.content).toContain('a.txt line 1');
    expect(second[3]?.content).toContain('b.txt line 1');
  });

  it('reports every step as an event, in order', async () => {
    cloud.enqueue({ toolCalls: [call('read_file', { path: 'a.txt' })] }, { text: 'Done.' });
    const { events } = await run();
    expect(events.map((e) => `${e.iteration}:${e.type}`)).toEqual([
      '1:model-call',
      '1:model-response',
      '1:tool-call',
      '1:tool-result',
      '2:model-call',
      '2:model-response',
      '2:stop',
    ]);
  });

  it('keeps running when an event listener throws', async () => {
    cloud.enqueue({ toolCalls: [call('read_file', { path: 'a.txt' })] }, { text: 'Done.' });
    const { result } = await run({
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(result).toMatchObject({ stopReason: 'completed', answer: 'Done.', toolCalls: { read_file: 1 } });
  });

  it('sends the whole assistant message back to the cloud: reasoning and tool calls', async () => {
    cloud.enqueue(
      { reasoning: 'Start with a.txt.', toolCalls: [call('read_file', { path: 'a.txt' })] },
      { text: 'Read it.' },
    );
    const { result } = await run();
    expect(result.messages[1]).toMatchObject({ role: 'assistant', reasoning: 'Start with a.txt.' });
    expect(bodyMessages(1)[1]).toMatchObject({
      role: 'assistant',
      reasoning_details: [{ text: 'Start with a.txt.' }],
      tool_calls: [{ function: { name: 'read_file' } }],
    });
  });

  it('counts the tool calls that succeeded and failed in the result and the stop event', async () => {
    cloud.enqueue(
      { toolCalls: [call('read_file', { path: 'a.txt' }), call('read_file', { path: 'missing.txt' })] },
      { toolCalls: [call('read_file', { path: 'b.txt' })] },
      { text: 'Done.' },
    );
    const { result, ofType } = await run();
    expect(result.toolOutcomes).toEqual({ succeeded: 2, failed: 1 });
    expect(ofType('stop')[0]?.result.toolOutcomes).toEqual({ succeeded: 2, failed: 1 });
  });

  it("asks the executor's approval hook before a command off the allow list, and feeds a refusal back", async () => {
    const asked: string[] = [];
    cloud.enqueue(
      { toolCalls: [call('execute_command', { command: 'curl https://example.invalid' })] },
      { text: 'ok' },
    );
    const tools = createToolExecutor({
      root,
      approve: async ({ call, reason }) => {
        asked.push(`${call.name}: ${reason}`);
        return false;
      },
    });
    const { result } = await run({ tools });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('curl');
    expect(bodyMessages(1)[2]).toMatchObject({ role: 'tool' });
    expect(bodyMessages(1)[2]?.content).toContain('was not approved');
    expect(result.stopReason).toBe('completed');
  });

  it('injects reminders at each threshold in order with a factual summary, then asks once without tools at the limit', async () => {
    let n = 0;
    cloud.setDefault((request) => {
      if (!offeredTools(request)) return { text: 'Final: the files hold numbered lines.' };
      n++;
      return { toolCalls: [call('read_file', { path: ['a.txt', 'b.txt', 'c.txt'][n % 3], offset: n, limit: 1 })] };
    });
    const { result, ofType } = await run({ maxIterations: 12, convergenceWarnings: [3, 6, 9] });
    const reminders = ofType('reminder');
    expect(reminders.map((r) => [r.toolCalls, r.threshold.level])).toEqual([
      [3, 'consider wrapping up'],
      [6, 'time to converge'],
      [9, 'please synthesise your findings'],
    ]);
    expect(reminders[0]?.message).toContain('You have made 3 tool calls in 3 of at most 12 iterations');
    expect(reminders[0]?.message).toContain('3 of the 3 calls so far were read_file on 3 files; no writes');
    expect(reminders[2]?.message).toContain('9 of the 9 calls so far were read_file on 3 files; no writes');
    // The reminder reached the model, after the tool result of the call that crossed the threshold.
    const fourth = bodyMessages(3);
    expect(fourth.at(-2)?.role).toBe('tool');
    expect(fourth.at(-1)).toMatchObject({ role: 'user', content: reminders[0]?.message });

    const requests = cloud.requestsTo('/chat/completions');
    expect(requests).toHaveLength(12);
    expect(requests.slice(0, 11).every((r) => offeredTools({ body: r.body } as ChatRequestInfo))).toBe(true);
    expect((requests[11]!.body as { tools?: unknown }).tools).toBeUndefined();
    expect(bodyMessages(11).at(-1)?.content).toContain('You have used all 12 iterations (11 tool calls');
    expect(ofType('final-request')).toHaveLength(1);
    expect(result).toMatchObject({
      stopReason: 'max_iterations',
      iterations: 12,
      toolCalls: { read_file: 11 },
      answer: 'Final: the files hold numbered lines.',
    });
  });

  it('sends one reminder, at the firmest level, when a turn of parallel calls crosses several thresholds', async () => {
    cloud.enqueue(
      { toolCalls: ['a.txt', 'b.txt', 'c.txt', 'a.txt'].map((path, i) => call('read_file', { path, offset: i + 1 })) },
      { text: 'Done.' },
    );
    const { result, ofType } = await run({ convergenceWarnings: [2, 3] });
    expect(ofType('reminder').map((r) => [r.toolCalls, r.threshold.level])).toEqual([[4, 'time to converge']]);
    expect(result.toolCalls).toEqual({ read_file: 4 });
  });

  it('places the system prompt and earlier history before the task', async () => {
    cloud.enqueue({ text: 'Continuing.' });
    await run({
      system: 'You are terse.',
      history: [
        { role: 'user', content: 'Earlier question' },
        { role: 'assistant', content: 'Earlier answer' },
      ],
    });
    expect(bodyMessages(0).map((m) => [m.role, m.content])).toEqual([
      ['system', 'You are terse.'],
      ['user', 'Earlier question'],
      ['assistant', 'Earlier answer'],
      ['user', 'Find out what the files say.'],
    ]);
  });

  it('nudges on the fourth identical call and stops as stuck on the fifth, however the path is spelled', async () => {
    const spellings = ['a.txt', './a.txt', `${root}/a.txt`, 'sub/../a.txt'];
    let n = 0;
    cloud.setDefault(() => ({ toolCalls: [call('read_file', { path: spellings[n++ % 4] })] }));
    await mkdir(join(root, 'sub'));
    const { result, ofType } = await run();
    const nudges = ofType('nudge');
    expect(nudges).toHaveLength(1);
    expect(nudges[0]).toMatchObject({ iteration: 4, pattern: { kind: 'repeated-call', count: 4 } });
    expect(nudges[0]?.message).toContain('read_file {"path":"a.txt"} returned the same result 4 times in a row');
    expect(bodyMessages(4).at(-1)).toMatchObject({ role: 'user', content: nudges[0]?.message });
    expect(result).toMatchObject({ stopReason: 'stuck', iterations: 5, stuck: { kind: 'repeated-call', count: 5 } });
  });

  it('stops an A/B alternation with unchanged results: nudge at six calls, stop at seven', async () => {
    let n = 0;
    cloud.setDefault(() => ({
      toolCalls: [n++ % 2 === 0 ? call('read_file', { path: 'a.txt' }) : call('list_files', { path: '.' })],
    }));
    const { result, ofType } = await run();
    expect(ofType('nudge').map((e) => [e.iteration, e.pattern.kind])).toEqual([[6, 'alternation']]);
    expect(result).toMatchObject({ stopReason: 'stuck', iterations: 7, stuck: { kind: 'alternation' } });
    expect(result.stuck?.description).toContain('alternating between');
  });

  it('stops the same failing call: nudge after three failures, stop at the fourth', async () => {
    cloud.setDefault(() => ({ toolCalls: [call('read_file', { path: 'missing.txt' })] }));
    const { result, ofType } = await run();
    expect(ofType('nudge').map((e) => [e.iteration, e.pattern.kind])).toEqual([[3, 'repeated-failure']]);
    expect(ofType('nudge')[0]?.message).toContain('failed 3 times');
    expect(result).toMatchObject({ stopReason: 'stuck', iterations: 4, stuck: { kind: 'repeated-failure', count: 4 } });
    expect(result.messages.filter((m) => m.role === 'tool').every((m) => m.content.includes('missing.txt'))).toBe(true);
  });

  it('does not call polling stuck while its result changes', async () => {
    let polls = 0;
    cloud.setDefault(() => {
      if (polls === 8) return { text: 'The job finished after 8 polls.' };
      polls++;
      return { toolCalls: [call('read_file', { path: 'status.txt' })] };
    });
    await writeFile(join(root, 'status.txt'), 'progress 0');
    const executor = createToolExecutor({ root });
    const { result, ofType } = await run({
      tools: {
        definitions: () => executor.definitions(),
        async execute(calls, options) {
          const results = await executor.execute(calls, options);
          await writeFile(join(root, 'status.txt'), `progress ${polls}`);
          return results;
        },
      },
    });
    expect(ofType('nudge')).toEqual([]);
    expect(result).toMatchObject({ stopReason: 'completed', iterations: 9, toolCalls: { read_file: 8 } });
  });

  it('nudges after two empty replies and stops as stuck on the third', async () => {
    cloud.setDefault({ text: '' });
    const { result, ofType } = await run();
    expect(ofType('nudge').map((e) => [e.iteration, e.pattern.kind])).toEqual([[2, 'empty-replies']]);
    expect(result).toMatchObject({ stopReason: 'stuck', iterations: 3, stuck: { kind: 'empty-replies' } });
  });

  it('continues on the local model with the whole history when the cloud fails mid-task', async () => {
    cloud.enqueue({ reasoning: 'I should read a.txt first.', toolCalls: [call('read_file', { path: 'a.txt' })] });
    cloud.setDefault({ fault: 'status', status: 503 });
    local.enqueue({ text: 'a.txt holds 40 numbered lines.' });
    const { result, ofType } = await run();
    expect(result).toMatchObject({ stopReason: 'completed', answer: 'a.txt holds 40 numbered lines.', iterations: 2 });
    expect(ofType('model-response').map((e) => e.provider)).toEqual(['minimax', 'ollama']);
    const sent = (local.requestsTo('/api/chat')[0]!.body as { messages: Record<string, unknown>[] }).messages;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent[0]?.content).toBe('Find out what the files say.');
    expect(sent[1]).toMatchObject({
      thinking: 'I should read a.txt first.',
      tool_calls: [{ function: { name: 'read_file', arguments: { path: 'a.txt' } } }],
    });
    expect(sent[2]?.content).toContain('a.txt line 40');
  });

  it('stops promptly with aborted when the signal fires during a hanging model call, cancelling it', async () => {
    cloud.enqueue({ toolCalls: [call('read_file', { path: 'a.txt' })] }, { fault: 'hang' });
    const controller = new AbortController();
    const running = run({ signal: controller.signal });
    await cloud.waitForRequests(2);
    controller.abort();
    const { result } = await running;
    expect(result).toMatchObject({ stopReason: 'aborted', iterations: 2, toolCalls: { read_file: 1 } });
    await expect.poll(() => cloud.requests[1]?.aborted).toBe(true);
    expect(local.requestsTo('/api/chat')).toEqual([]);
  });

  it('stops with budget_tokens once the tokens used reach the budget', async () => {
    cloud.setDefault(() => ({
      toolCalls: [call('read_file', { path: 'a.txt', offset: cloud.requests.length })],
      usage: { promptTokens: 100, completionTokens: 50 },
    }));
    const { result } = await run({ budget: { maxTotalTokens: 400 } });
    expect(result).toMatchObject({ stopReason: 'budget_tokens', iterations: 3, usage: { totalTokens: 450 } });
    expect(result.toolCalls).toEqual({ read_file: 2 });
  });

  it('stops with budget_cost once the priced cost reaches the budget', async () => {
    cloud.setDefault(() => ({
      toolCalls: [call('read_file', { path: 'a.txt', offset: cloud.requests.length })],
      usage: { promptTokens: 100, completionTokens: 50 },
    }));
    const prices = { 'MiniMax-M2': { inputPer1k: 1, outputPer1k: 2 } };
    const { result } = await run({ budget: { maxCostUsd: 0.5, prices } });
    expect(result.stopReason).toBe('budget_cost');
    expect(result.iterations).toBe(3);
    expect(result.costUsd).toBeCloseTo(0.6);
  });

  it('stops with budget_time when the wall-time budget runs out during a model call', async () => {
    cloud.enqueue({ toolCalls: [call('read_file', { path: 'a.txt' })] }, { fault: 'hang' });
    const { result } = await run({ budget: { maxWallTimeMs: 300 } });
    expect(result).toMatchObject({ stopReason: 'budget_time', iterations: 2 });
    await expect.poll(() => cloud.requests[1]?.aborted).toBe(true);
  });

  it('stops with error, naming it, when no model can answer', async () => {
    cloud.setDefault({ fault: 'status', status: 503 });
    local.setDefault({ fault: 'status', status: 500 });
    const { result } = await run();
    expect(result.stopReason).toBe('error');
    expect(result.error?.message).toBeTruthy();
  });
});

describe('runAgent context compaction', () => {
  const bigFiles = async (count: number, chars: number) => {
    for (let i = 1; i <= count; i++) {
      const line = `big${i}.txt `.padEnd(59, '-');
      const lines = Math.ceil(chars / 60);
      await writeFile(join(root, `big${i}.txt`), Array.from({ length: lines }, () => line).join('\n'));
    }
  };
  /** A model that reads big1.txt, big2.txt … in turn (never the same call twice) while it is offered tools. */
  const keepReading = (count: number) => {
    let n = 0;
    return (request: ChatRequestInfo) =>
      offeredTools(request)
        ? { toolCalls: [call('read_file', { path: `big${(n % count) + 1}.txt`, limit: 1000 + ++n })] }
        : { text: 'Read them all.' };
  };
  const sentTokens = (messages: BodyMessage[]) =>
    Math.ceil(messages.reduce((chars, m) => chars + (m.content?.length ?? 0), 0) / 3);

  it('stubs old tool results once the estimate passes the budget, emitting compacted, and keeps the task and recent turns', async () => {
    await bigFiles(3, 3000);
    cloud.setDefault(keepReading(3));
    const { result, ofType } = await run({
      maxIterations: 12,
      context: { maxPromptTokens: 9000, keepRecentMessages: 4 },
    });
    expect(result).toMatchObject({ stopReason: 'max_iterations', iterations: 12 });
    const compacted = ofType('compacted');
    expect(compacted.length).toBeGreaterThan(0);
    for (const event of compacted) {
      expect(event.maxPromptTokens).toBe(9000);
      expect(event.tokensBefore).toBeGreaterThan(9000);
      expect(event.tokensAfter).toBeLessThanOrEqual(9000);
      expect(event.elidedMessages).toBe(event.stubbed + event.dropped);
      expect(event.elidedMessages).toBeGreaterThan(0);
    }
    const requests = cloud.requestsTo('/chat/completions');
    for (const [i] of requests.entries()) {
      const sent = bodyMessages(i);
      expect(sent[0]).toMatchObject({ role: 'user', content: 'Find out what the files say.' });
      expect(sent.at(-1)?.content).not.toMatch(/elided/);
    }
    const stubs = requests
      .flatMap((_, i) => bodyMessages(i))
      .filter((m) => m.content?.startsWith('[read_file result elided to save context:'));
    expect(stubs.length).toBeGreaterThan(0);
    // The result keeps the whole conversation, every result in full.
    const results = result.messages.filter((m) => m.role === 'tool');
    expect(results).toHaveLength(11);
    for (const m of results) expect(m.content).toContain('big');
  });

  it('sends the whole conversation every time with context: false', async () => {
    await bigFiles(3, 3000);
    cloud.setDefault(keepReading(3));
    const { ofType } = await run({ maxIterations: 12, context: false });
    expect(ofType('compacted')).toEqual([]);
    const requests = cloud.requestsTo('/chat/completions');
    const last = bodyMessages(requests.length - 1);
    expect(last.filter((m) => m.role === 'tool')).toHaveLength(11);
    expect(last.some((m) => m.content?.includes('elided'))).toBe(false);
    expect(sentTokens(last)).toBeGreaterThan(10_000);
  });

  it('compacts by default, within three quarters of a 32k context', async () => {
    await bigFiles(3, 9000);
    cloud.setDefault(keepReading(3));
    const { ofType } = await run({ maxIterations: 14 });
    const compacted = ofType('compacted');
    expect(compacted.length).toBeGreaterThan(0);
    expect(compacted[0]?.maxPromptTokens).toBe(24_576);
  });

  describe('on a local model whose context the router checks (router.context_overflow: refuse)', () => {
    let localRouter: Router;
    beforeEach(async () => {
      const file = join(configDir, 'local.yaml');
      await writeFile(
        file,
        [
          'cloud_llm:',
          '  enabled: false',
          'ollama:',
          `  host: ${local.host}`,
          '  max_context: 8192',
          'router:',
          '  retries: { max_retries: 0 }',
        ].join('\n'),
      );
      localRouter = createRouter({ config: (await loadConfig({ path: file })).config });
      await bigFiles(4, 2000);
      local.setDefault(keepReading(4));
    });
    afterEach(async () => {
      await localRouter.close();
    });

    it('keeps the conversation within the context over many calls', async () => {
      const { result, ofType } = await run({
        model: localRouter,
        maxIterations: 30,
        context: { contextLength: 8192, keepRecentMessages: 4 },
      });
      expect(result.error?.message).toBeUndefined();
      expect(result).toMatchObject({ stopReason: 'max_iterations', iterations: 30, toolCalls: { read_file: 29 } });
      expect(ofType('compacted').some((e) => e.dropped > 0)).toBe(true);
    });

    it('is refused by the router once the context is full when compaction is off', async () => {
      const { result } = await run({ model: localRouter, maxIterations: 30, context: false });
      expect(result.stopReason).toBe('error');
      expect(result.error?.message).toMatch(/does not fit ollama_chat\/qwen2\.5-coder:7b's context of 8192 tokens/);
      expect(result.iterations).toBeLessThan(30);
    });
  });
});
