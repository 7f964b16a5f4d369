import { describe, expect, it } from 'vitest';
import { GatewayError } from './errors';
import { refuseUnservable, responsesSchema, responsesToChatRequest } from './responses-request';

const parse = (body: Record<string, unknown>) => responsesSchema.parse({ model: 'unity', input: 'hi', ...body });
const toRequest = (body: Record<string, unknown>) => responsesToChatRequest(parse(body));
const tool = (name: string) => ({ type: 'function', name, parameters: { type: 'object', properties: {} } });

describe('a Responses API body as the router’s chat request', () => {
  it('carries every sampling and output field the router knows', () => {
    const request = toRequest({
      temperature: 0.3,
      top_p: 0.9,
      max_output_tokens: 64,
      user: 'u-42',
      include: ['message.output_text.logprobs'],
      top_logprobs: 2,
    });
    expect(request).toMatchObject({ temperature: 0.3, topP: 0.9, maxOutputTokens: 64, user: 'u-42' });
    expect(request.logprobs).toEqual({ top: 2 });
  });

  it('takes safety_identifier as the end user when user is absent', () => {
    expect(toRequest({ safety_identifier: 'hashed-user' }).user).toBe('hashed-user');
  });

  it.each([
    ['required', 'required'],
    [{ type: 'function', name: 'b' }, { name: 'b' }],
  ] as const)('passes tool_choice %j on as %j, with parallel_tool_calls', (choice, expected) => {
    const request = toRequest({ tools: [tool('a'), tool('b')], tool_choice: choice, parallel_tool_calls: false });
    expect(request.toolChoice).toEqual(expected);
    expect(request.parallelToolCalls).toBe(false);
    expect(request.tools?.map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('leaves tool_choice auto as the default and drops the tools for none', () => {
    expect(toRequest({ tools: [tool('a')], tool_choice: 'auto' }).toolChoice).toBeUndefined();
    const none = toRequest({ tools: [tool('a')], tool_choice: 'none' });
    expect(none.tools).toBeUndefined();
    expect(none.toolChoice).toBeUndefined();
  });

  it('maps text.format json_schema and json_object to the response format, and text to none', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(toRequest({ text: { format: { type: 'json_schema', name: 'x', schema } } }).responseFormat).toEqual({
      type: 'json',
      schema,
    });
    expect(toRequest({ text: { format: { type: 'json_object' } } }).responseFormat).toEqual({ type: 'json' });
    expect(toRequest({ text: { format: { type: 'text' } } }).responseFormat).toBeUndefined();
  });

  it('gives a replayed reasoning item to the assistant turn that follows it, with its calls', () => {
    const request = toRequest({
      input: [
        { role: 'user', content: 'go' },
        { type: 'reasoning', id: 'rs_1', summary: [], content: [{ type: 'reasoning_text', text: 'I should list.' }] },
        { type: 'function_call', call_id: 'c1', name: 'ls', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'cat', arguments: '{"f":"a"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'a b' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'x' }] },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: '',
        reasoning: 'I should list.',
        toolCalls: [
          { id: 'c1', name: 'ls', arguments: {}, rawArguments: '{}' },
          { id: 'c2', name: 'cat', arguments: { f: 'a' }, rawArguments: '{"f":"a"}' },
        ],
      },
      { role: 'tool', content: 'a b', toolCallId: 'c1', toolName: 'ls' },
      { role: 'tool', content: 'x', toolCallId: 'c2', toolName: 'cat' },
    ]);
  });

  it('refuses an input_image given only as an uploaded file id, naming the part', () => {
    const error = (() => {
      try {
        toRequest({ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }] });
      } catch (e) {
        return e;
      }
    })();
    expect(GatewayError.isInstance(error) && error.param).toBe('input.0.content.0');
  });

  it.each([
    ['previous_response_id', 'resp_1'],
    ['conversation', 'conv_1'],
    ['background', true],
    ['prompt', { id: 'pmpt_1' }],
  ])('refuses %s naming it', (field, value) => {
    const error = (() => {
      try {
        refuseUnservable(parse({ [field]: value }));
      } catch (e) {
        return e;
      }
    })();
    expect(GatewayError.isInstance(error) && [error.status, error.param]).toEqual([400, field]);
  });

  it('accepts store and background false: nothing to keep', () => {
    expect(() => refuseUnservable(parse({ store: true, background: false }))).not.toThrow();
  });
});
