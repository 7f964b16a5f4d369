import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import type { ProviderRequest } from '../../provider';
import { buildChatBody, buildHeaders } from './build-body';

const tool: ToolDefinition = { name: 'read_file', description: 'Read', parameters: { type: 'object' } };
const request = (extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  signal: new AbortController().signal,
  ...extra,
});

describe('buildHeaders', () => {
  it('sends JSON headers and the bearer key', () => {
    expect(buildHeaders('sk-1')).toEqual({
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': expect.any(String),
      authorization: 'Bearer sk-1',
    });
  });

  it('adds extra headers by lower-case name, letting them replace the defaults', () => {
    const headers = buildHeaders('sk-1', { 'X-Title': 'unity', Authorization: 'Bearer other' });
    expect(headers).toMatchObject({ 'x-title': 'unity', authorization: 'Bearer other' });
  });

  it('sends no Authorization without a key, even one given as an extra header', () => {
    expect(buildHeaders(undefined, { Authorization: 'Bearer x' })).not.toHaveProperty('authorization');
  });
});

describe('buildChatBody', () => {
  it('sends only the model and messages when nothing else is set', () => {
    expect(buildChatBody(request(), undefined, false)).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('maps every option to its wire name', () => {
    const body = buildChatBody(
      request({
        tools: [tool],
        temperature: 0.2,
        maxOutputTokens: 64,
        stop: ['\n'],
        seed: 7,
        toolChoice: { name: 'read_file' },
        parallelToolCalls: false,
        topP: 0.9,
        topK: 40,
        frequencyPenalty: 0.1,
        presencePenalty: 0.3,
        logprobs: { top: 2 },
        user: 'u1',
        reasoningEffort: 'low',
        responseFormat: { type: 'json', schema: { type: 'object' } },
      }),
      undefined,
      false,
    );
    expect(body).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [
        { type: 'function', function: { name: 'read_file', description: 'Read', parameters: { type: 'object' } } },
      ],
      temperature: 0.2,
      max_tokens: 64,
      stop: ['\n'],
      seed: 7,
      tool_choice: { type: 'function', function: { name: 'read_file' } },
      parallel_tool_calls: false,
      top_p: 0.9,
      top_k: 40,
      frequency_penalty: 0.1,
      presence_penalty: 0.3,
      logprobs: true,
      top_logprobs: 2,
      user: 'u1',
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' } } },
    });
  });

  it('asks for a JSON object without a schema, and passes a string tool choice as it is', () => {
    const body = buildChatBody(request({ responseFormat: { type: 'json' }, toolChoice: 'required' }), undefined, false);
    expect(body).toMatchObject({ response_format: { type: 'json_object' }, tool_choice: 'required' });
  });

  it('sends max_completion_tokens to MiniMax and OpenAI, and reasoning_split to MiniMax only', () => {
    const minimax = buildChatBody(request({ maxOutputTokens: 10 }), 'minimax', false);
    expect(minimax).toMatchObject({ max_completion_tokens: 10, reasoning_split: true });
    expect(minimax).not.toHaveProperty('max_tokens');
    const openai = buildChatBody(request({ maxOutputTokens: 10 }), 'openai', false);
    expect(openai).toMatchObject({ max_completion_tokens: 10 });
    expect(openai).not.toHaveProperty('reasoning_split');
  });

  it('leaves out empty tool and stop lists', () => {
    expect(buildChatBody(request({ tools: [], stop: [] }), undefined, false)).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it('asks for usage in a stream', () => {
    expect(buildChatBody(request(), undefined, true)).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });
});
