import { describe, expect, it } from 'vitest';
import { parseClientEvent } from './client-event';

describe('parseClientEvent', () => {
  it('accepts a client.<name> event and keeps its payload', () => {
    expect(parseClientEvent('{"type":"client.agent.step","step":2}')).toEqual({
      ok: true,
      type: 'client.agent.step',
      payload: { step: 2 },
    });
  });

  it('drops the ts a client sends, so the bus stamps its own', () => {
    const parsed = parseClientEvent('{"type":"client.note","ts":1,"text":"hi"}');
    expect(parsed).toEqual({ ok: true, type: 'client.note', payload: { text: 'hi' } });
  });

  it.each(['request.end', 'request.start', 'router.breaker', 'health.change', 'client.', 'clientx.y'])(
    'refuses the type %s',
    (type) => {
      const parsed = parseClientEvent(JSON.stringify({ type }));
      expect(parsed).toEqual({
        ok: false,
        message: `type: clients may only publish "client.<name>" events, not ${JSON.stringify(type)}`,
      });
    },
  );

  it('refuses a message without a string type', () => {
    expect(parseClientEvent('{"step":2}')).toEqual({
      ok: false,
      message: 'type: a published event needs a string "type"',
    });
    expect(parseClientEvent('{"type":7}')).toEqual({
      ok: false,
      message: 'type: a published event needs a string "type"',
    });
  });

  it('refuses a message that is not a JSON object', () => {
    expect(parseClientEvent('not json')).toEqual({ ok: false, message: 'messages must be JSON objects' });
    expect(parseClientEvent('[1]').ok).toBe(false);
    expect(parseClientEvent('null').ok).toBe(false);
  });
});
