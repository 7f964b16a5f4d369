import type { ToolDefinition } from '@unity/core';
import { textToolCall } from '@unity/test-kit';
import { describe, expect, it } from 'vitest';
import {
  extractTextToolCalls,
  generateToolCallId,
  mayBeTextToolCall,
  TextToolCallCollector,
  validateToolArguments,
} from './tool-call-text';

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

describe('extractTextToolCalls: what stays text', () => {
  it.each([
    ['an empty array', '[]'],
    ['an array of non-objects', '[1, 2]'],
    ['a number', '42'],
    ['a call without a name', '{"arguments":{"path":"a"}}'],
    ['a name that is not a string', '{"name":7,"arguments":{}}'],
    ['arguments that are an array', '{"name":"list_dir","arguments":["src"]}'],
    ['arguments that are a string of broken JSON', '{"name":"list_dir","arguments":"{dir"}'],
    ['arguments that are a JSON string of an array', '{"name":"list_dir","arguments":"[1]"}'],
    ['null', 'null'],
    ['an array holding null', '[null]'],
  ])('keeps %s as text, with tools offered', (_what, text) => {
    expect(extractTextToolCalls(text, tools)).toEqual({ toolCalls: [], text });
  });

  it('keeps a whitespace-only reply unchanged', () => {
    expect(extractTextToolCalls('  \n ', tools)).toEqual({ toolCalls: [], text: '  \n ' });
  });

  it('keeps the whole reply, untrimmed, when nothing in it is a call', () => {
    const text = '  Here is <tool_call>not json</tool_call> and ```json\n{"x":1}\n``` too.  ';
    expect(extractTextToolCalls(text, tools)).toEqual({ toolCalls: [], text });
  });
});

describe('extractTextToolCalls: the shapes models write', () => {
  it('reads the OpenAI wire shape written as text, with its arguments as a JSON string', () => {
    const text = JSON.stringify({ type: 'function', function: { name: 'read_file', arguments: '{"path":"w.ts"}' } });
    const [call] = extractTextToolCalls(text, tools).toolCalls;
    expect(call).toMatchObject({ name: 'read_file', arguments: { path: 'w.ts' }, rawArguments: '{"path":"w.ts"}' });
  });

  it('takes missing or empty-string arguments as no arguments', () => {
    expect(extractTextToolCalls('{"name":"list_dir"}', tools).toolCalls[0]).toMatchObject({
      name: 'list_dir',
      arguments: {},
      rawArguments: '{}',
    });
    expect(extractTextToolCalls('{"name":"list_dir","arguments":"  "}', tools).toolCalls[0]?.arguments).toEqual({});
  });

  it('prefers "arguments" over "parameters" when both are given', () => {
    const text = '{"name":"list_dir","arguments":{"dir":"a"},"parameters":{"dir":"b"}}';
    expect(extractTextToolCalls(text, tools).toolCalls[0]?.arguments).toEqual({ dir: 'a' });
  });

  it('reads a call in leading and trailing whitespace as the whole reply', () => {
    const result = extractTextToolCalls('\n  {"name":"list_dir","arguments":{}}  \n', tools);
    expect(result).toMatchObject({ text: '', toolCalls: [{ name: 'list_dir' }] });
  });

  it.each(['json', 'JSON', 'tool_call', 'tool_code', 'javascript', 'js', ''])(
    'reads a call in a ```%s fence, keeping the prose around it',
    (language) => {
      const text = `Reading it.\n\`\`\`${language}\n{"name":"read_file","arguments":{"path":"f.ts"}}\n\`\`\`\nDone.`;
      const result = extractTextToolCalls(text, tools);
      expect(result.toolCalls.map((c) => c.arguments)).toEqual([{ path: 'f.ts' }]);
      expect(result.text).toBe('Reading it.\n\nDone.');
    },
  );

  it('reads a fence with spaces around its language and Windows line ends', () => {
    const text = 'Now:\r\n```  json  \r\n{"name":"list_dir","arguments":{"dir":"x"}}\r\n```';
    const result = extractTextToolCalls(text, tools);
    expect(result.toolCalls[0]?.arguments).toEqual({ dir: 'x' });
    expect(result.text).toBe('Now:');
  });

  it('takes every tagged call out of the text, in order, and leaves the invalid ones in place', () => {
    const bad = '<tool_call>{"name":"nope","arguments":{}}</tool_call>';
    const text = `A ${textToolCall('list_dir', { dir: 'a' }, 'tagged')} B ${bad} C ${textToolCall('read_file', { path: 'b' }, 'tagged')}`;
    const result = extractTextToolCalls(text, tools);
    expect(result.toolCalls.map((c) => c.name)).toEqual(['list_dir', 'read_file']);
    expect(result.text).toBe(`A  B ${bad} C`);
  });

  it('takes tagged calls and fenced calls out of the same reply', () => {
    const text = `${textToolCall('list_dir', { dir: 'a' }, 'tagged')}\n${textToolCall('read_file', { path: 'b' }, 'fenced')}`;
    expect(extractTextToolCalls(text, tools).toolCalls.map((c) => c.name)).toEqual(['list_dir', 'read_file']);
  });

  it('gives each call a fresh id', () => {
    const text = textToolCall('list_dir', {});
    const a = extractTextToolCalls(text, tools).toolCalls[0]?.id;
    const b = extractTextToolCalls(text, tools).toolCalls[0]?.id;
    expect(a).toMatch(/^call_[0-9a-f]{24}$/);
    expect(a).not.toBe(b);
    expect(generateToolCallId()).toMatch(/^call_[0-9a-f]{24}$/);
  });
});

describe('validateToolArguments: the fallback check and the root', () => {
  it('names "(arguments)" for a problem with the arguments as a whole', () => {
    const stringOnly: ToolDefinition = { name: 's', description: 's', parameters: { type: 'string' } };
    expect(validateToolArguments(stringOnly, {})).toEqual([expect.stringMatching(/^\(arguments\): /)]);
  });

  it('checks only string names in "required" when zod cannot convert the schema', () => {
    const odd: ToolDefinition = {
      name: 'odd',
      description: 'odd',
      parameters: { type: 'object', properties: { a: { $ref: '#/nowhere' } }, required: ['a', 3] },
    };
    expect(validateToolArguments(odd, { a: 1 })).toEqual([]);
    expect(validateToolArguments(odd, {})).toEqual(['a: required property is missing']);
  });

  it('names a nested problem by its dotted path', () => {
    const nested: ToolDefinition = {
      name: 'n',
      description: 'n',
      parameters: {
        type: 'object',
        properties: { opts: { type: 'object', properties: { limit: { type: 'integer' } } } },
      },
    };
    expect(validateToolArguments(nested, { opts: { limit: 'x' } })).toEqual([expect.stringMatching(/^opts\.limit: /)]);
  });

  it('accepts anything when an unconvertible schema has no "required" list', () => {
    const odd: ToolDefinition = {
      name: 'odd',
      description: 'odd',
      parameters: { type: 'object', properties: { a: { $ref: '#/nowhere' } }, required: 'a' },
    };
    expect(validateToolArguments(odd, {})).toEqual([]);
  });

  it('gives the same answer for a tool checked twice', () => {
    expect(validateToolArguments(readFile, {})).toEqual(validateToolArguments(readFile, {}));
    expect(validateToolArguments(readFile, { path: 'a' })).toEqual([]);
  });
});

describe('mayBeTextToolCall: streamed starts', () => {
  it.each([
    ['```json', true],
    ['```python', true],
    ['``` json \n', true],
    ['```JSON\n{', true],
    ['```js\n', true],
    ['```tool_code\n', true],
    ['```ts\n', false],
    ['   {', true],
    ['\n[', true],
    ['[{"name"', true],
    ['<', true],
    ['<tool_call', true],
    ['<tool_call>{"name"', true],
    ['<tool_c x', false],
    ['`x', false],
    ['a{', false],
    ['json', false],
  ])('%j → %s', (text, expected) => {
    expect(mayBeTextToolCall(text)).toBe(expected);
  });
});

describe('TextToolCallCollector', () => {
  it('streams everything straight through when no tools are offered', () => {
    const collector = new TextToolCallCollector([]);
    expect(collector.push('{"name":')).toBe('{"name":');
    expect(collector.finish()).toEqual({ toolCalls: [], text: '' });
  });

  it('holds back a ```json fence streamed before its newline, then converts the call at the end', () => {
    const collector = new TextToolCallCollector(tools);
    expect(collector.push('```json')).toBe('');
    expect(collector.push('\n{"name":"read_file",')).toBe('');
    expect(collector.push('"arguments":{"path":"s.ts"}}\n```')).toBe('');
    const result = collector.finish();
    expect(result.text).toBe('');
    expect(result.toolCalls.map((c) => c.arguments)).toEqual([{ path: 's.ts' }]);
    // Finishing empties what was held.
    expect(collector.finish()).toEqual({ toolCalls: [], text: '' });
  });

  it('releases held text at once when it turns out to be prose, and streams the rest through', () => {
    const collector = new TextToolCallCollector(tools);
    expect(collector.push('  ')).toBe('');
    expect(collector.push('Hello')).toBe('  Hello');
    expect(collector.push(' {"name":')).toBe(' {"name":');
    expect(collector.release()).toBe('');
  });

  it('releases a fence of another language once its first line is complete', () => {
    const collector = new TextToolCallCollector(tools);
    expect(collector.push('```python')).toBe('');
    expect(collector.push('\nprint(1)')).toBe('```python\nprint(1)');
  });

  it('hands back the held text unconverted on release, once', () => {
    const collector = new TextToolCallCollector(tools);
    collector.push('{"name":"list_dir"');
    expect(collector.release()).toBe('{"name":"list_dir"');
    expect(collector.release()).toBe('');
  });
});
