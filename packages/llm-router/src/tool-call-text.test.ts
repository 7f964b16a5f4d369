import type { ToolDefinition } from '@unity/core';
import { textToolCall } from '@unity/test-kit';
import { describe, expect, it } from 'vitest';
import { extractTextToolCalls, mayBeTextToolCall, validateToolArguments } from './tool-call-text';

const readFile: ToolDefinition = {
  name: 'read_file',
  description: 'Read a file',
  parameters: {
    type: 'object',
    properties: { path: { type: 'string' }, limit: { type: 'integer' } },
    required: ['path'],
  },
};
const listDir: ToolDefinition = {
  name: 'list_dir',
  description: 'List a folder',
  parameters: { type: 'object', properties: { dir: { type: 'string' } } },
};
const tools = [readFile, listDir];

describe('extractTextToolCalls', () => {
  it.each(['bare', 'tagged', 'fenced'] as const)('turns a %s text tool call into a real tool call', (style) => {
    const result = extractTextToolCalls(textToolCall('read_file', { path: 'a.ts' }, style), tools);
    expect(result.text).toBe('');
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]).toMatchObject({
      name: 'read_file',
      arguments: { path: 'a.ts' },
      rawArguments: '{"path":"a.ts"}',
    });
    expect(result.toolCalls[0]?.id).toMatch(/^call_[0-9a-f]{24}$/);
  });

  it('accepts "parameters" in place of "arguments"', () => {
    const result = extractTextToolCalls('{"name":"read_file","parameters":{"path":"b.ts"}}', tools);
    expect(result.toolCalls[0]?.arguments).toEqual({ path: 'b.ts' });
  });

  it('accepts arguments given as a JSON string', () => {
    const result = extractTextToolCalls('{"name":"read_file","arguments":"{\\"path\\":\\"c.ts\\"}"}', tools);
    expect(result.toolCalls[0]?.arguments).toEqual({ path: 'c.ts' });
  });

  it('turns an array of calls into several tool calls in order', () => {
    const text = JSON.stringify([
      { name: 'list_dir', arguments: { dir: 'src' } },
      { name: 'read_file', arguments: { path: 'src/a.ts' } },
    ]);
    const result = extractTextToolCalls(text, tools);
    expect(result.toolCalls.map((c) => c.name)).toEqual(['list_dir', 'read_file']);
    expect(new Set(result.toolCalls.map((c) => c.id)).size).toBe(2);
  });

  it('keeps the prose around a tagged call as text', () => {
    const text = `I will read it.\n${textToolCall('read_file', { path: 'a.ts' }, 'tagged')}\n`;
    const result = extractTextToolCalls(text, tools);
    expect(result.text).toBe('I will read it.');
    expect(result.toolCalls).toHaveLength(1);
  });

  it('reads a tagged call whose closing tag is missing', () => {
    const result = extractTextToolCalls('<tool_call>\n{"name":"list_dir","arguments":{}}', tools);
    expect(result.toolCalls[0]?.name).toBe('list_dir');
    expect(result.text).toBe('');
  });

  it('keeps a call to a tool that was not offered as text', () => {
    const text = textToolCall('delete_everything', { path: '/' });
    expect(extractTextToolCalls(text, tools)).toEqual({ toolCalls: [], text });
  });

  it('keeps a call whose arguments break the schema as text', () => {
    const missing = textToolCall('read_file', { limit: 3 }, 'tagged');
    expect(extractTextToolCalls(missing, tools)).toEqual({ toolCalls: [], text: missing });
    const wrongType = textToolCall('read_file', { path: 42 });
    expect(extractTextToolCalls(wrongType, tools)).toEqual({ toolCalls: [], text: wrongType });
  });

  it('keeps a whole array as text when one of its calls is invalid', () => {
    const text = JSON.stringify([
      { name: 'list_dir', arguments: { dir: 'src' } },
      { name: 'nope', arguments: {} },
    ]);
    expect(extractTextToolCalls(text, tools).toolCalls).toEqual([]);
  });

  it('keeps unparseable JSON as text', () => {
    const text = '{"name":"read_file","arguments":{"path":';
    expect(extractTextToolCalls(text, tools)).toEqual({ toolCalls: [], text });
  });

  it('keeps ordinary JSON and code fences that are not calls as text', () => {
    const json = '```json\n{"path":"a.ts"}\n```';
    expect(extractTextToolCalls(json, tools).toolCalls).toEqual([]);
    const code = '```python\n{"name":"read_file","arguments":{"path":"a"}}\n```';
    expect(extractTextToolCalls(code, tools)).toEqual({ toolCalls: [], text: code });
  });

  it('converts nothing when no tools were offered', () => {
    const text = textToolCall('read_file', { path: 'a.ts' });
    expect(extractTextToolCalls(text, [])).toEqual({ toolCalls: [], text });
  });

  it('checks required properties when zod cannot convert the schema', () => {
    const odd: ToolDefinition = {
      name: 'odd',
      description: 'schema with a reference zod cannot resolve',
      parameters: { type: 'object', properties: { a: { $ref: '#/definitions/missing' } }, required: ['a'] },
    };
    expect(extractTextToolCalls('{"name":"odd","arguments":{"a":1}}', [odd]).toolCalls).toHaveLength(1);
    expect(extractTextToolCalls('{"name":"odd","arguments":{}}', [odd]).toolCalls).toHaveLength(0);
  });
});

describe('validateToolArguments', () => {
  it('names the path of each problem', () => {
    expect(validateToolArguments(readFile, { path: 'a', limit: 1.5 })).toEqual([expect.stringMatching(/^limit: /)]);
    expect(validateToolArguments(readFile, {})).toEqual([expect.stringMatching(/^path: /)]);
    expect(validateToolArguments(readFile, { path: 'a', limit: 2 })).toEqual([]);
  });
});

describe('mayBeTextToolCall', () => {
  it.each([
    ['', true],
    ['  \n', true],
    ['{"na', true],
    ['[', true],
    ['<tool', true],
    ['<tool_call>\n{', true],
    ['``', true],
    ['```', true],
    ['```json\n', true],
    ['```\n{', true],
    ['```python\nprint', false],
    ['Hello', false],
    ['<think>', false],
  ])('%j → %s', (text, expected) => {
    expect(mayBeTextToolCall(text)).toBe(expected);
  });
});
