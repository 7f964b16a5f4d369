import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { createRouter, parseConfig, type Router, traceRouter } from '@unity/llm-router';
import { startTracing, type Tracing, tracingConfigSection } from '@unity/telemetry';
import { type CollectedSpan, FakeOllama, FakeOtlpCollector } from '@unity/test-kit';
import { createToolExecutor } from '@unity/tools';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runTracedAgent } from './agent-tracing';

let collector: FakeOtlpCollector;
let tracing: Tracing;
let local: FakeOllama;
let root: string;
let router: Router;

beforeAll(async () => {
  collector = await FakeOtlpCollector.start();
  local = await FakeOllama.start();
  const started = await startTracing(tracingConfigSection.parse({ enabled: true, endpoint: collector.url }));
  if (!started) throw new Error('expected tracing to be on');
  tracing = started;
});
afterAll(async () => {
  await tracing.shutdown();
  await Promise.all([collector.close(), local.close()]);
});
beforeEach(async () => {
  collector.reset();
  local.reset();
  root = await mkdtemp(join(tmpdir(), 'unity-agent-tracing-'));
  await writeFile(join(root, 'notes.txt'), 'the answer is 42\n');
  const config = parseConfig(
    [
      'cloud_llm:',
      '  enabled: false',
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'ollama:',
      `  host: ${local.host}`,
      'router:',
      '  retries: { max_retries: 0 }',
    ].join('\n'),
  );
  router = createRouter({ config });
});
afterEach(async () => {
  await router.close();
  await rm(root, { recursive: true, force: true });
});

const childrenOf = (span: CollectedSpan | undefined, name?: string) =>
  collector
    .spans()
    .filter((s) => span && s.parentSpanId === span.spanId && (name === undefined || s.name === name))
    .sort((a, b) => a.startMs - b.startMs);

describe('runTracedAgent', () => {
  it('traces an agent run: invoke_agent → a step per model call → the router request and execute_tool spans', async () => {
    local.enqueue(
      {
        toolCalls: [
          { id: 'call_ok', name: 'read_file', arguments: { path: 'notes.txt' } },
          { id: 'call_missing', name: 'read_file', arguments: { path: 'missing.txt' } },
        ],
      },
      { text: 'The notes say 42.' },
    );
    const stop = traceRouter(router, tracing.tracer);
    const events: string[] = [];
    const result = await runTracedAgent(
      {
        model: router,
        tools: createToolExecutor({ root }),
        task: 'What do the notes say?',
        root,
        onEvent: (event) => events.push(event.type),
      },
      { tracer: tracing.tracer, agentName: 'notes-reader' },
    ).finally(stop);
    await tracing.flush();

    expect(result.stopReason).toBe('completed');
    expect(events).toContain('tool-result');
    const [agent] = collector.named('invoke_agent notes-reader');
    expect(agent).toMatchObject({
      kind: 'internal',
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': 'notes-reader',
        'unity.agent.stop_reason': 'completed',
        'unity.agent.iterations': 2,
        'unity.agent.tool_calls': 2,
        'gen_ai.usage.input_tokens': result.usage.inputTokens,
        'gen_ai.usage.output_tokens': result.usage.outputTokens,
      },
    });
    const steps = childrenOf(agent, 'agent.step');
    expect(steps.map((s) => s.attributes['unity.agent.iteration'])).toEqual([1, 2]);
    expect(steps[0]?.attributes).toMatchObject({ 'unity.agent.tool_calls': 2, 'unity.agent.provider': 'ollama' });

    const [firstCall] = childrenOf(steps[0], 'chat qwen2.5-coder:7b');
    expect(firstCall?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'ollama' });
    expect(childrenOf(firstCall)).toHaveLength(1);
    expect(childrenOf(steps[1], 'chat qwen2.5-coder:7b')).toHaveLength(1);

    const tools = childrenOf(steps[0], 'execute_tool read_file');
    expect(tools).toMatchObject([
      {
        status: { code: 'unset' },
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'read_file',
          'gen_ai.tool.call.id': 'call_ok',
          'gen_ai.tool.type': 'function',
        },
      },
      { status: { code: 'error' }, attributes: { 'gen_ai.tool.call.id': 'call_missing' } },
    ]);
    expect(tools[1]?.attributes['error.type']).toBeTypeOf('string');
    expect(new Set(collector.spans().map((s) => s.traceId))).toEqual(new Set([agent?.traceId]));
  });

  it('marks the run failed when the model cannot answer', async () => {
    local.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 500 });
    const result = await runTracedAgent(
      { model: router, tools: createToolExecutor({ root }), task: 'Anything?', root },
      { tracer: tracing.tracer },
    );
    await tracing.flush();
    expect(result.stopReason).toBe('error');
    const [agent] = collector.named('invoke_agent unity');
    expect(agent?.status.code).toBe('error');
    expect(agent?.attributes['error.type']).toBe(result.error?.code);
  });

  it('without a tracer runs the agent as runAgent does: no span, no wrapper around the model', async () => {
    const seen: { activeSpan: unknown; self: unknown }[] = [];
    const model = {
      async chat(this: unknown) {
        seen.push({ activeSpan: trace.getActiveSpan(), self: this });
        return {
          content: 'plain',
          toolCalls: [],
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          finishReason: 'stop' as const,
          model: 'm',
        };
      },
    };
    const result = await runTracedAgent(
      { model, tools: createToolExecutor({ root }), task: 'Say something.' },
      { tracer: undefined },
    );
    await tracing.flush();
    expect(result.answer).toBe('plain');
    expect(seen).toEqual([{ activeSpan: undefined, self: model }]);
    expect(collector.exports).toEqual([]);
  });
});
