import { describe, expect, it } from 'vitest';
import type { RouterRequest } from '../router-types';
import { exactKey, semanticQuery } from './cache-identity';

const context = { role: 'reasoning' as const, localOnly: false };
const base: RouterRequest = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
  temperature: 0,
};
const asking = (content: string, extra: Partial<RouterRequest> = {}): RouterRequest => ({
  ...base,
  messages: [base.messages[0]!, { role: 'user', content }],
  ...extra,
});

describe('exactKey', () => {
  it('is equal for equal requests and differs with the tenant, the role, local-only and any option', () => {
    const key = exactKey(base, context);
    expect(exactKey({ ...base }, context)).toBe(key);
    const variants: [RouterRequest, typeof context][] = [
      [{ ...base, cacheScope: 'tenant-a' }, context],
      [base, { ...context, role: 'coding' as never }],
      [base, { ...context, localOnly: true }],
      [{ ...base, temperature: 0.5 }, context],
      [{ ...base, topP: 0.9 }, context],
      [{ ...base, seed: 1 }, context],
      [{ ...base, maxOutputTokens: 10 }, context],
      [{ ...base, stop: ['x'] }, context],
      [{ ...base, model: 'ollama_chat/llama3.2:1b' }, context],
      [{ ...base, responseFormat: { type: 'json' } }, context],
      [{ ...base, toolChoice: 'none' }, context],
      [{ ...base, tools: [{ name: 't', description: 'd', parameters: {} }] }, context],
    ];
    const keys = variants.map(([request, ctx]) => exactKey(request, ctx));
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('ignores what cannot change the answer: the request id, the signal, cache flags', () => {
    const key = exactKey(base, context);
    expect(
      exactKey({ ...base, signal: new AbortController().signal, cache: 'refresh' }, { ...context, requestId: 7 }),
    ).toBe(key);
  });
});

describe('semanticQuery', () => {
  it('compares the last user message by meaning and the rest exactly: paraphrases share a scope', () => {
    const a = semanticQuery(asking('What is the capital of France?'), context);
    const b = semanticQuery(asking("France's capital city, which is it?"), context);
    expect(a?.text).toBe('What is the capital of France?');
    expect(b?.scope).toBe(a?.scope);
  });

  it('gives another scope for another tenant, system prompt, earlier turn, tools, sampling or model', () => {
    const scope = semanticQuery(asking('q'), context)?.scope;
    const others = [
      asking('q', { cacheScope: 'tenant-b' }),
      {
        ...asking('q'),
        messages: [
          { role: 'system' as const, content: 'Be verbose.' },
          { role: 'user' as const, content: 'q' },
        ],
      },
      {
        ...asking('q'),
        messages: [
          { role: 'user' as const, content: 'earlier' },
          { role: 'user' as const, content: 'q' },
        ],
      },
      asking('q', { tools: [{ name: 't', description: 'd', parameters: {} }] }),
      asking('q', { temperature: 1 }),
      asking('q', { model: 'minimax/MiniMax-M2' }),
    ].map((r) => semanticQuery(r, context)?.scope);
    expect(others).not.toContain(scope);
    expect(new Set(others).size).toBe(others.length);
    expect(semanticQuery(asking('q'), { ...context, localOnly: true })?.scope).not.toBe(scope);
  });

  it('requires the same numbers in the same order in the last message', () => {
    const scope = (text: string) => semanticQuery(asking(text), context)?.scope;
    expect(scope('What is 2 + 2?')).not.toBe(scope('What is 2 + 3?'));
    expect(scope('Sum 3 and 5')).not.toBe(scope('Sum 5 and 3'));
    expect(scope('What is 2 plus 2?')).toBe(scope('How much is 2 + 2?'));
  });

  it('has nothing to compare when the last message is not a user text', () => {
    expect(semanticQuery({ messages: [{ role: 'user', content: 'look', images: ['aGk='] }] }, context)).toBeUndefined();
    expect(semanticQuery({ messages: [{ role: 'user', content: '  ' }] }, context)).toBeUndefined();
    expect(
      semanticQuery(
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: 'a' },
          ],
        },
        context,
      ),
    ).toBeUndefined();
    expect(
      semanticQuery({ messages: [{ role: 'tool', content: 'result', toolCallId: 'c1' }] }, context),
    ).toBeUndefined();
  });
});
