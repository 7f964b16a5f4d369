import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import type { ProviderRequest } from '../../provider';
import { buildChatBody, ollamaHeaders } from './build-body';

const tool: ToolDefinition = { name: 'read_file', description: 'Read', parameters: { type: 'object' } };
const request = (extra: Partial<ProviderRequest> = {}): ProviderRequest => ({
  model: 'qwen',
  messages: [{ role: 'user', content: 'hi' }],
  signal: new AbortController().signal,
  ...extra,
});
const settings = { maxContext: 32_768, keepAlive: undefined };

describe('buildChatBody', () => {
  it('sets num_ctx to the model’s context length, capped by maxContext', () => {
    const body = (contextLength?: number) =>
      buildChatBody(request(), { tools: true, ...(contextLength ? { contextLength } : {}) }, settings, false);
    expect(body(2_048).options).toEqual({ num_ctx: 2_048 });
    expect(body(131_072).options).toEqual({ num_ctx: 32_768 });
    expect(body(undefined).options).toEqual({ num_ctx: 32_768 });
  });

  it('sends only what is set', () => {
    expect(buildChatBody(request(), { tools: true, contextLength: 4096 }, settings, true)).toEqual({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      options: { num_ctx: 4096 },
    });
  });

  it('maps every option to its Ollama name', () => {
    const body = buildChatBody(
      request({
        temperature: 0,
        maxOutputTokens: 50,
        stop: ['\n\n'],
        seed: 7,
        topP: 0.9,
        topK: 40,
        frequencyPenalty: 0.1,
        presencePenalty: 0.2,
        logprobs: { top: 3 },
        reasoningEffort: 'high',
        tools: [tool],
        responseFormat: { type: 'json', schema: { type: 'object' } },
      }),
      { tools: true, contextLength: 8192 },
      { maxContext: 32_768, keepAlive: '10m' },
      false,
    );
    expect(body).toEqual({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
      stream: false,
      options: {
        num_ctx: 8192,
        temperature: 0,
        num_predict: 50,
        stop: ['\n\n'],
        seed: 7,
        top_p: 0.9,
        top_k: 40,
        frequency_penalty: 0.1,
        presence_penalty: 0.2,
      },
      logprobs: true,
      top_logprobs: 3,
      think: true,
      tools: [
        { type: 'function', function: { name: 'read_file', description: 'Read', parameters: { type: 'object' } } },
      ],
      format: { type: 'object' },
      keep_alive: '10m',
    });
  });

  it('turns thinking off for reasoningEffort none, and asks for json without a schema', () => {
    const body = buildChatBody(
      request({ reasoningEffort: 'none', responseFormat: { type: 'json' } }),
      { tools: true },
      settings,
      false,
    );
    expect(body).toMatchObject({ think: false, format: 'json' });
  });
});

describe('ollamaHeaders', () => {
  it('asks for and sends JSON', () => {
    expect(ollamaHeaders).toMatchObject({ accept: 'application/json', 'content-type': 'application/json' });
  });
});
