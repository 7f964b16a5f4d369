import { describe, expect, it } from 'vitest';
import { anthropicMessagesSchema, anthropicToChatRequest, estimateInputTokens } from './anthropic-request';

const parse = (body: Record<string, unknown>) =>
  anthropicMessagesSchema.parse({
    model: 'unity',
    max_tokens: 50,
    messages: [{ role: 'user', content: 'hi' }],
    ...body,
  });
const toRequest = (body: Record<string, unknown>) => anthropicToChatRequest(parse(body));
const tool = (name: string) => ({ name, input_schema: { type: 'object', properties: {} } });

describe('an Anthropic Messages body as the router’s chat request', () => {
  it('carries max_tokens, sampling, stop sequences and the end user', () => {
    expect(
      toRequest({
        temperature: 0.2,
        top_p: 0.8,
        top_k: 40,
        stop_sequences: ['\n\nHuman:'],
        metadata: { user_id: 'u-1' },
      }),
    ).toMatchObject({
      maxOutputTokens: 50,
      temperature: 0.2,
      topP: 0.8,
      topK: 40,
      stop: ['\n\nHuman:'],
      user: 'u-1',
    });
  });

  it.each([
    [{ type: 'any' }, 'required'],
    [{ type: 'tool', name: 'b' }, { name: 'b' }],
  ])('passes tool_choice %j on as %j', (choice, expected) => {
    const request = toRequest({ tools: [tool('a'), tool('b')], tool_choice: choice });
    expect(request.toolChoice).toEqual(expected);
    expect(request.parallelToolCalls).toBeUndefined();
  });

  it('turns disable_parallel_tool_use into parallel tool calls off, and auto into the default', () => {
    const request = toRequest({ tools: [tool('a')], tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
    expect(request.toolChoice).toBeUndefined();
    expect(request.parallelToolCalls).toBe(false);
  });

  it('drops the tools for tool_choice none', () => {
    const request = toRequest({ tools: [tool('a')], tool_choice: { type: 'none' } });
    expect(request.tools).toBeUndefined();
    expect(request.toolChoice).toBeUndefined();
  });

  it('keeps thinking as the assistant’s reasoning, marks an error tool result, and takes system messages', () => {
    const request = toRequest({
      messages: [
        { role: 'system', content: 'Be careful.' },
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I will look.', signature: 'sig' },
            { type: 'tool_use', id: 't1', name: 'ls', input: { dir: '.' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'no such dir', is_error: true }] },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'system', content: 'Be careful.' },
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: '',
        reasoning: 'I will look.',
        toolCalls: [{ id: 't1', name: 'ls', arguments: { dir: '.' }, rawArguments: '{"dir":"."}' }],
      },
      { role: 'tool', content: 'Error: no such dir', toolCallId: 't1', toolName: 'ls' },
    ]);
  });

  it('refuses a temperature above Anthropic’s range of 0–1', () => {
    const result = anthropicMessagesSchema.safeParse({
      model: 'unity',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
      temperature: 1.5,
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['temperature']);
  });
});

describe('the count_tokens estimate', () => {
  it('counts the system prompt, the tools and each image', () => {
    const base = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }] };
    const plain = estimateInputTokens(base);
    expect(estimateInputTokens({ ...base, system: 'x'.repeat(400) })).toBe(plain + 100 + 2);
    expect(
      estimateInputTokens({
        ...base,
        tools: [{ name: 'read_file', description: 'Read a file', input_schema: { type: 'object' } }],
      }),
    ).toBeGreaterThan(plain);
    const image = {
      type: 'image' as const,
      source: { type: 'base64' as const, media_type: 'image/png', data: 'AAAA' },
    };
    expect(estimateInputTokens({ messages: [{ role: 'user', content: [image] }] })).toBeGreaterThanOrEqual(1_600);
  });
});
