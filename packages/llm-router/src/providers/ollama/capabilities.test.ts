import { describe, expect, it } from 'vitest';
import { testContext } from '../../__tests__/failure-context';
import { cachedPerModel, contextLengthOf, parseShowResponse } from './capabilities';

describe('parseShowResponse', () => {
  it('reads tool support and the context length', () => {
    const raw = {
      capabilities: ['completion', 'tools'],
      model_info: { 'general.architecture': 'qwen2', 'qwen2.context_length': 32_768 },
    };
    expect(parseShowResponse(testContext, raw)).toEqual({ tools: true, contextLength: 32_768 });
    expect(parseShowResponse(testContext, {})).toEqual({ tools: false });
  });

  it('throws BAD_RESPONSE for a body that is not an /api/show answer', () => {
    expect(() => parseShowResponse(testContext, { capabilities: 'tools' })).toThrow(
      expect.objectContaining({ code: 'BAD_RESPONSE' }),
    );
  });
});

describe('contextLengthOf', () => {
  it('prefers the architecture’s own key, else any *.context_length', () => {
    expect(
      contextLengthOf({ 'general.architecture': 'llama', 'llama.context_length': 8192, 'x.context_length': 4 }),
    ).toEqual({ contextLength: 8192 });
    expect(contextLengthOf({ 'bert.context_length': 512 })).toEqual({ contextLength: 512 });
    expect(contextLengthOf({ 'general.architecture': 'llama', 'llama.context_length': 0 })).toEqual({});
  });
});

describe('cachedPerModel', () => {
  it('loads each model once, sharing concurrent lookups', async () => {
    let loads = 0;
    const lookup = cachedPerModel(async (model) => {
      loads++;
      return model.length;
    });
    expect(await Promise.all([lookup('ab'), lookup('ab'), lookup('abc')])).toEqual([2, 2, 3]);
    expect(await lookup('ab')).toBe(2);
    expect(loads).toBe(2);
  });

  it('forgets a failure, so the next call asks again', async () => {
    let loads = 0;
    const lookup = cachedPerModel(async () => {
      loads++;
      throw new Error('not pulled');
    });
    await expect(lookup('m')).rejects.toThrow('not pulled');
    await expect(lookup('m')).rejects.toThrow('not pulled');
    expect(loads).toBe(2);
  });
});
