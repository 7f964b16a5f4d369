import type { ChatModel, ChatRequest } from '@unity/core';
import { FakeOpenAI } from '@unity/test-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { builtinDomains } from './builtin-domains';
import { classifyTask, matchKeywords } from './classify-task';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** A minimal OpenAI Chat Completions client: real HTTP to the fake, honouring the request's signal. */
const httpModel: ChatModel = {
  async chat(request: ChatRequest) {
    const response = await fetch(`${fake.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'MiniMax-M2',
        messages: request.messages,
        response_format: request.responseFormat && {
          type: 'json_schema',
          json_schema: { name: 'answer', schema: request.responseFormat.schema },
        },
      }),
      signal: request.signal,
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    return {
      content: body.choices[0]?.message.content ?? '',
      toolCalls: [],
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      finishReason: 'stop',
      model: 'MiniMax-M2',
    };
  },
};

const presets = builtinDomains;

describe('classifyTask with a model', () => {
  it('takes the domain the model names, with its reason', async () => {
    fake.enqueue({ text: '{"domain": "research", "reason": "needs sources"}' });
    const result = await classifyTask('What is new in Node 22?', { model: httpModel, presets });
    expect(result).toEqual({ preset: presets[3], method: 'model', reason: 'needs sources' });
  });

  it('asks with a JSON schema whose domain is an enum of the preset names', async () => {
    fake.enqueue({ text: '{"domain": "reasoning", "reason": "r"}' });
    await classifyTask('Should we shard?', { model: httpModel, presets });
    const body = fake.requestsTo('/chat/completions')[0]?.body as {
      response_format: { json_schema: { schema: { properties: { domain: { enum: string[] } } } } };
      messages: { role: string; content: string }[];
    };
    expect(body.response_format.json_schema.schema.properties.domain.enum).toEqual(presets.map((p) => p.name));
    expect(body.messages[0]?.content).toContain('- research: Finding and summarising');
    expect(body.messages[1]).toEqual({ role: 'user', content: 'Should we shard?' });
  });

  it('reads the JSON out of a fenced answer', async () => {
    fake.enqueue({ text: '```json\n{"domain": "calculation-heavy", "reason": "math"}\n```' });
    const result = await classifyTask('x', { model: httpModel, presets });
    expect([result.preset.name, result.method]).toEqual(['calculation-heavy', 'model']);
  });

  it('falls back to keywords when the model fails, saying why', async () => {
    fake.enqueue({ fault: 'status', status: 500 });
    const result = await classifyTask('Fix the bug in the parser and run the tests', { model: httpModel, presets });
    expect(result.preset.name).toBe('implementation-heavy');
    expect(result.method).toBe('keywords');
    expect(result.modelError).toContain('HTTP 500');
  });

  it('falls back to keywords when the model does not answer in time, naming the timeout', async () => {
    fake.enqueue({ fault: 'hang' });
    const result = await classifyTask('Calculate the average of these numbers', {
      model: httpModel,
      presets,
      timeoutMs: 50,
    });
    expect([result.preset.name, result.method]).toEqual(['calculation-heavy', 'keywords']);
    expect(result.modelError).toContain('50 ms (timeoutMs)');
  });

  it('falls back to keywords when the model answers something that is not the JSON asked for', async () => {
    fake.enqueue({ text: 'I think this is research.' });
    const result = await classifyTask('research the latest release', { model: httpModel, presets });
    expect(result.method).toBe('keywords');
    expect(result.modelError).toContain('is not {"domain", "reason"}');
  });

  it('falls back to keywords when the model names a domain that does not exist', async () => {
    fake.enqueue({ text: '{"domain": "cooking", "reason": "food"}' });
    const result = await classifyTask('explain why the cache misses', { model: httpModel, presets });
    expect([result.preset.name, result.method]).toEqual(['reasoning', 'keywords']);
    expect(result.modelError).toBe('the model named an unknown domain "cooking"');
  });

  it('rejects instead of falling back when the caller aborts', async () => {
    fake.enqueue({ fault: 'hang' });
    const controller = new AbortController();
    const pending = classifyTask('fix it', { model: httpModel, presets, signal: controller.signal });
    await fake.waitForRequests(1);
    controller.abort(new Error('user pressed Ctrl-C'));
    await expect(pending).rejects.toThrow('user pressed Ctrl-C');
  });
});

describe('classifyTask without a model', () => {
  it('decides by keywords and names the keywords that matched', async () => {
    const result = await classifyTask('Please REFACTOR this class', { presets });
    expect(result).toMatchObject({ method: 'keywords', reason: 'matched "refactor", "class"' });
    expect(result.preset.name).toBe('implementation-heavy');
    expect(result.modelError).toBeUndefined();
  });

  it('takes the default domain when no keyword matches', async () => {
    const result = await classifyTask('hello there', { presets });
    expect([result.preset.name, result.method]).toEqual(['reasoning', 'default']);
    expect((await classifyTask('hello', { presets, defaultDomain: 'research' })).preset.name).toBe('research');
  });
});

describe('matchKeywords', () => {
  it('matches whole words only', () => {
    expect(matchKeywords('a summary of the meeting', presets)).toBeUndefined();
  });

  it('weighs a phrase by its words, so a longer match wins over a shorter one', () => {
    expect(matchKeywords('compare libraries for parsing YAML', presets)?.preset.name).toBe('research');
  });
});
