import type { ToolDefinition } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { buildPlainPrompt, buildWrapperHistory, toolReplySchema } from './llamacpp-prompt';

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
};

describe('buildPlainPrompt', () => {
  it('gives a lone user message as the text to continue, as is', () => {
    expect(buildPlainPrompt([{ role: 'user', content: 'Once upon a time' }])).toEqual({
      text: 'Once upon a time',
      stop: [],
      transcript: false,
    });
  });

  it('puts the system prompt before a lone user message', () => {
    const prompt = buildPlainPrompt([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(prompt.text).toBe('Be brief.\n\nHi');
  });

  it('renders a conversation with tool calls and results as a transcript ending in Assistant:', () => {
    const prompt = buildPlainPrompt([
      { role: 'user', content: 'Weather in Rome?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: '1', name: 'get_weather', arguments: { city: 'Rome' }, rawArguments: '{"city":"Rome"}' }],
      },
      { role: 'tool', toolCallId: '1', toolName: 'get_weather', content: 'sunny' },
    ]);
    expect(prompt.text).toBe(
      'User: Weather in Rome?\nAssistant: {"name":"get_weather","arguments":{"city":"Rome"}}\nTool result (get_weather): sunny\nAssistant:',
    );
    expect(prompt.stop).toEqual(['\nUser:']);
    expect(prompt.transcript).toBe(true);
  });

  it('lists offered tools in the system text, asking for a call only when one is required', () => {
    const auto = buildPlainPrompt([{ role: 'user', content: 'Hi' }], { tools: [weather], choice: 'auto' });
    expect(auto.text).toContain('- get_weather: The weather in a city. Arguments: {"type":"object"');
    expect(auto.text).toContain('{"answer": <text>}');
    const required = buildPlainPrompt([{ role: 'user', content: 'Hi' }], { tools: [weather], choice: 'required' });
    expect(required.text).not.toContain('answer');
  });
});

describe('buildWrapperHistory', () => {
  it('maps roles to chat-wrapper items and ends with an empty model turn', () => {
    expect(
      buildWrapperHistory([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'tool', toolCallId: '1', content: '42' },
      ]),
    ).toEqual([
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'Hi' },
      { type: 'model', response: ['Hello'] },
      { type: 'user', text: 'Tool result: 42' },
      { type: 'model', response: [] },
    ]);
  });
});

describe('toolReplySchema', () => {
  it('offers each tool by constant name with its own parameters, plus a plain answer', () => {
    expect(toolReplySchema({ tools: [weather], choice: 'auto' })).toEqual({
      oneOf: [
        { type: 'object', properties: { name: { const: 'get_weather' }, arguments: weather.parameters } },
        { type: 'object', properties: { answer: { type: 'string' } } },
      ],
    });
  });

  it('leaves out the plain answer when a call is required', () => {
    expect((toolReplySchema({ tools: [weather], choice: 'required' }).oneOf as unknown[]).length).toBe(1);
  });
});
