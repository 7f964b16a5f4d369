import { describe, expect, it } from 'vitest';
import { toOllamaMessages } from './convert-messages';

const call = { id: 'call_1', name: 'read_file', arguments: { path: 'a' }, rawArguments: '{"path":"a"}' };

describe('toOllamaMessages', () => {
  it('passes system and user messages, with images as they are', () => {
    expect(
      toOllamaMessages([
        { role: 'system', content: 's' },
        { role: 'user', content: 'u', images: ['iVBOR'] },
        { role: 'user', content: 'v', images: [] },
      ]),
    ).toEqual([
      { role: 'system', content: 's' },
      { role: 'user', content: 'u', images: ['iVBOR'] },
      { role: 'user', content: 'v' },
    ]);
  });

  it('sends tool calls with object arguments and the reasoning as thinking', () => {
    expect(toOllamaMessages([{ role: 'assistant', content: '', toolCalls: [call], reasoning: 'hm' }])).toEqual([
      {
        role: 'assistant',
        content: '',
        thinking: 'hm',
        tool_calls: [{ id: 'call_1', function: { name: 'read_file', arguments: { path: 'a' } } }],
      },
    ]);
  });

  it('names a tool result by its tool, from the message or the call it answers', () => {
    const messages = toOllamaMessages([
      { role: 'assistant', content: '', toolCalls: [call] },
      { role: 'tool', toolCallId: 'call_1', content: 'from the call' },
      { role: 'tool', toolCallId: 'call_9', toolName: 'grep', content: 'named' },
      { role: 'tool', toolCallId: 'call_8', content: 'unknown' },
    ]);
    expect(messages.slice(1)).toEqual([
      { role: 'tool', content: 'from the call', tool_name: 'read_file' },
      { role: 'tool', content: 'named', tool_name: 'grep' },
      { role: 'tool', content: 'unknown' },
    ]);
  });
});
