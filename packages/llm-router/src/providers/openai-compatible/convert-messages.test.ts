import { describe, expect, it } from 'vitest';
import { toWireMessages } from './convert-messages';

const call = { id: 'call_1', name: 'read_file', arguments: { path: 'a' }, rawArguments: '{"path": "a"}' };

describe('toWireMessages', () => {
  it('converts system, user and tool messages', () => {
    expect(
      toWireMessages(
        [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'hi' },
          { role: 'tool', toolCallId: 'call_1', toolName: 'read_file', content: 'data' },
        ],
        false,
      ),
    ).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
      { role: 'tool', tool_call_id: 'call_1', content: 'data' },
    ]);
  });

  it('sends images as image_url parts, base64 as data: URLs and URLs as they are', () => {
    const [message] = toWireMessages(
      [
        {
          role: 'user',
          content: 'look',
          images: ['iVBORw0', '/9j/4AAQ', 'https://x/y.png', 'data:image/gif;base64,R0'],
        },
      ],
      false,
    );
    expect(message).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'look' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0' } },
        { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
        { type: 'image_url', image_url: { url: 'https://x/y.png' } },
        { type: 'image_url', image_url: { url: 'data:image/gif;base64,R0' } },
      ],
    });
  });

  it('sends tool calls with their raw arguments, and null content when there is no text', () => {
    const [message] = toWireMessages([{ role: 'assistant', content: '', toolCalls: [call] }], false);
    expect(message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path": "a"}' } }],
    });
  });

  it('serialises the parsed arguments when the raw ones are missing', () => {
    const [message] = toWireMessages(
      [{ role: 'assistant', content: 'x', toolCalls: [{ ...call, rawArguments: '' }] }],
      false,
    );
    expect(message).toMatchObject({ content: 'x', tool_calls: [{ function: { arguments: '{"path":"a"}' } }] });
  });

  it('sends the reasoning back to MiniMax only', () => {
    const turn = { role: 'assistant' as const, content: 'done', reasoning: 'I thought' };
    expect(toWireMessages([turn], true)[0]).toEqual({
      role: 'assistant',
      content: 'done',
      reasoning_details: [
        { type: 'reasoning.text', id: 'reasoning-text-1', format: 'MiniMax-response-v1', index: 0, text: 'I thought' },
      ],
    });
    expect(toWireMessages([turn], false)[0]).toEqual({ role: 'assistant', content: 'done' });
  });
});
