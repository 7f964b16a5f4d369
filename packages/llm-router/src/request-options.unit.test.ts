import type { ChatMessage, ChatRequest, ChatResponse, ToolCall, ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { ProviderError } from './errors';
import type { ProviderFeatures } from './provider';
import { enforceToolPlan, planTools, requestContradiction, unhonouredParameter } from './request-options';

const none: ProviderFeatures = {
  toolChoice: false,
  parallelToolCalls: false,
  logprobs: false,
  topK: false,
  penalties: false,
  reasoning: false,
};
const all: ProviderFeatures = {
  toolChoice: true,
  parallelToolCalls: true,
  logprobs: true,
  topK: true,
  penalties: true,
  reasoning: true,
};

const tool = (name: string): ToolDefinition => ({ name, description: name, parameters: { type: 'object' } });
const read = tool('read_file');
const list = tool('list_files');
const messages: ChatMessage[] = [{ role: 'user', content: 'go' }];
const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ messages, ...extra });
const call = (name: string): ToolCall => ({ id: `call_${name}`, name, arguments: {}, rawArguments: '{}' });
const response = (toolCalls: ToolCall[], finishReason: ChatResponse['finishReason'] = 'stop'): ChatResponse => ({
  content: '',
  toolCalls,
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
  finishReason,
  model: 'm',
});
const where = { provider: 'ollama', model: 'qwen' };

describe('unhonouredParameter', () => {
  it('finds nothing for a provider that declares no features (it passes everything on)', () => {
    expect(unhonouredParameter(request({ logprobs: { top: 2 }, topK: 5, frequencyPenalty: 1 }), undefined)).toBe(
      undefined,
    );
  });

  it('names each option the provider lacks, in order: logprobs, topK, then the penalties', () => {
    expect(unhonouredParameter(request({ logprobs: { top: 0 }, topK: 5 }), none)).toBe('logprobs');
    expect(unhonouredParameter(request({ topK: 0, frequencyPenalty: 1 }), none)).toBe('topK');
    expect(unhonouredParameter(request({ frequencyPenalty: 0, presencePenalty: 1 }), none)).toBe('frequencyPenalty');
    expect(unhonouredParameter(request({ presencePenalty: 0 }), none)).toBe('presencePenalty');
  });

  it('finds nothing when the provider honours what was asked, or nothing was asked', () => {
    expect(
      unhonouredParameter(request({ logprobs: { top: 1 }, topK: 1, frequencyPenalty: 1, presencePenalty: 1 }), all),
    ).toBe(undefined);
    expect(unhonouredParameter(request(), none)).toBe(undefined);
  });

  it('names a reasoning effort the provider cannot honour, after topK and before the penalties; none needs nothing', () => {
    expect(unhonouredParameter(request({ reasoningEffort: 'high', frequencyPenalty: 1 }), none)).toBe(
      'reasoningEffort',
    );
    expect(unhonouredParameter(request({ reasoningEffort: 'minimal', topK: 2 }), none)).toBe('topK');
    expect(unhonouredParameter(request({ reasoningEffort: 'none' }), none)).toBe(undefined);
    expect(unhonouredParameter(request({ reasoningEffort: 'low' }), { ...none, reasoning: true })).toBe(undefined);
  });

  it('checks each feature on its own', () => {
    expect(unhonouredParameter(request({ logprobs: { top: 1 }, topK: 1 }), { ...all, topK: false })).toBe('topK');
    expect(unhonouredParameter(request({ logprobs: { top: 1 } }), { ...all, logprobs: false })).toBe('logprobs');
    expect(unhonouredParameter(request({ presencePenalty: 1 }), { ...all, penalties: false })).toBe('presencePenalty');
    expect(unhonouredParameter(request({ topK: 1, presencePenalty: 1 }), { ...none, topK: true })).toBe(
      'presencePenalty',
    );
  });
});

describe('requestContradiction', () => {
  it('accepts no choice, auto and none, with or without tools', () => {
    for (const toolChoice of [undefined, 'auto', 'none'] as const) {
      expect(requestContradiction(request({ toolChoice }))).toBe(undefined);
    }
  });

  it('refuses a required or named call when no tools are offered, naming the choice', () => {
    expect(requestContradiction(request({ toolChoice: 'required' }))).toEqual({
      param: 'toolChoice',
      message: 'toolChoice "required" asks for a tool call, but the request offers no tools',
      fix: 'offer the tools in the request, or drop toolChoice',
    });
    expect(requestContradiction(request({ toolChoice: { name: 'x' }, tools: [] }))?.message).toBe(
      'toolChoice { name: "x" } asks for a tool call, but the request offers no tools',
    );
  });

  it('refuses a named tool that is not offered, listing the offered ones', () => {
    expect(requestContradiction(request({ toolChoice: { name: 'write' }, tools: [read, list] }))).toEqual({
      param: 'toolChoice',
      message: 'toolChoice names the tool "write", which is not among the offered tools (read_file, list_files)',
      fix: 'name one of the offered tools, or offer that tool',
    });
  });

  it('accepts a named tool that is offered, and required with tools', () => {
    expect(requestContradiction(request({ toolChoice: { name: 'list_files' }, tools: [read, list] }))).toBe(undefined);
    expect(requestContradiction(request({ toolChoice: 'required', tools: [read] }))).toBe(undefined);
  });
});

describe('planTools', () => {
  it('offers nothing and sets nothing when the request has no tools', () => {
    expect(planTools(request({ toolChoice: 'required', parallelToolCalls: false }), messages, none)).toEqual({
      tools: [],
      messages,
      firstCallOnly: false,
    });
  });

  it('passes tool choice and parallel calls to a provider that honours them, or declares nothing', () => {
    for (const features of [all, undefined]) {
      expect(
        planTools(request({ tools: [read], toolChoice: 'required', parallelToolCalls: false }), messages, features),
      ).toEqual({ tools: [read], messages, toolChoice: 'required', parallelToolCalls: false, firstCallOnly: false });
    }
  });

  it('leaves no choice and auto to the model on any provider', () => {
    expect(planTools(request({ tools: [read] }), messages, none)).toEqual({
      tools: [read],
      messages,
      firstCallOnly: false,
    });
    expect(planTools(request({ tools: [read], toolChoice: 'auto' }), messages, none)).toEqual({
      tools: [read],
      messages,
      firstCallOnly: false,
    });
  });

  it('emulates parallel calls off by keeping the first call only, and on by changing nothing', () => {
    expect(planTools(request({ tools: [read], parallelToolCalls: false }), messages, none)).toMatchObject({
      firstCallOnly: true,
    });
    const on = planTools(request({ tools: [read], parallelToolCalls: true }), messages, none);
    expect(on.firstCallOnly).toBe(false);
    expect(on).not.toHaveProperty('parallelToolCalls');
  });

  it('withholds the tools for none on a provider without tool choice', () => {
    const plan = planTools(request({ tools: [read, list], toolChoice: 'none' }), messages, none);
    expect(plan.tools).toEqual([]);
    expect(plan.messages).toBe(messages);
    expect(plan.mustCall).toBe(undefined);
    expect(plan).not.toHaveProperty('toolChoice');
  });

  it('emulates required: every tool offered, an instruction added as a system message, any call checked', () => {
    const plan = planTools(request({ tools: [read, list], toolChoice: 'required' }), messages, none);
    expect(plan.tools).toEqual([read, list]);
    expect(plan.mustCall).toBe(true);
    expect(plan).not.toHaveProperty('toolChoice');
    expect(plan.messages).toEqual([
      { role: 'system', content: 'Answer by calling one of the offered tools now; do not reply with text.' },
      ...messages,
    ]);
  });

  it('adds the instruction as the only message to an empty conversation', () => {
    expect(planTools(request({ tools: [read], toolChoice: 'required' }), [], none).messages).toEqual([
      { role: 'system', content: 'Answer by calling one of the offered tools now; do not reply with text.' },
    ]);
  });

  it('emulates a named tool: only that tool offered, its name in the instruction, appended to a system prompt', () => {
    const withSystem: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, ...messages];
    const plan = planTools(request({ tools: [read, list], toolChoice: { name: 'list_files' } }), withSystem, none);
    expect(plan.tools).toEqual([list]);
    expect(plan.mustCall).toBe('list_files');
    expect(plan.messages).toEqual([
      { role: 'system', content: 'Be brief.\n\nAnswer by calling the tool "list_files" now; do not reply with text.' },
      ...messages,
    ]);
  });
});

describe('enforceToolPlan', () => {
  const plan = (extra: Partial<ReturnType<typeof planTools>> = {}) => ({
    tools: [read, list],
    messages,
    firstCallOnly: false,
    ...extra,
  });

  it('returns the very answer when there is nothing to enforce', () => {
    const answer = response([call('read_file'), call('list_files')], 'tool_calls');
    expect(enforceToolPlan(plan(), answer, where)).toBe(answer);
  });

  it('keeps only the first call when parallel calls are off, and says the answer ends in tool calls', () => {
    const answer = response([call('read_file'), call('list_files')], 'stop');
    expect(enforceToolPlan(plan({ firstCallOnly: true }), answer, where)).toEqual({
      ...answer,
      toolCalls: [call('read_file')],
      finishReason: 'tool_calls',
    });
  });

  it('keeps the finish reason of an answer without calls when only the first call is kept', () => {
    const answer = response([], 'length');
    expect(enforceToolPlan(plan({ firstCallOnly: true }), answer, where)).toEqual(answer);
  });

  it('fails a required call that did not come with BAD_RESPONSE, saying what came and what was required', () => {
    const error = (() => {
      try {
        enforceToolPlan(plan({ mustCall: true }), response([]), where);
      } catch (e) {
        return e;
      }
    })();
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'BAD_RESPONSE',
      provider: 'ollama',
      model: 'qwen',
      message: 'qwen gave a text answer where toolChoice required a tool call',
      fix: 'use a model that follows tool instructions (e.g. qwen2.5-coder:7b), or relax toolChoice to auto',
    });
    expect((error as ProviderError).transient).toBe(true);
  });

  it('fails a named call answered with other calls, naming them', () => {
    expect(() =>
      enforceToolPlan(plan({ mustCall: 'list_files' }), response([call('read_file'), call('list_files')]), where),
    ).toThrow('qwen gave calls of "read_file", "list_files" instead where toolChoice required a call of "list_files"');
  });

  it('accepts any call for required, and only calls of the named tool for a named choice', () => {
    const answer = response([call('read_file')], 'tool_calls');
    expect(enforceToolPlan(plan({ mustCall: true }), answer, where)).toBe(answer);
    const named = response([call('list_files'), call('list_files')], 'tool_calls');
    expect(enforceToolPlan(plan({ mustCall: 'list_files' }), named, where)).toBe(named);
    expect(() => enforceToolPlan(plan({ mustCall: 'list_files' }), response([]), where)).toThrow(
      /a text answer where toolChoice required a call of "list_files"/,
    );
  });

  it('checks the required call after dropping the extra ones', () => {
    const answer = response([call('read_file'), call('list_files')], 'tool_calls');
    expect(() => enforceToolPlan(plan({ mustCall: 'list_files', firstCallOnly: true }), answer, where)).toThrow(
      /calls of "read_file" instead/,
    );
  });
});
