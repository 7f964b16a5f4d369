import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatRequest } from '@unity/core';
import { describe, expect, it } from 'vitest';
import { noCoder, reply } from './__tests__/test-helpers';
import { Cassette, cassetteKey } from './cassette';
import { EvolutionError } from './errors';

const request = (text: string, seed = 1): ChatRequest => ({ messages: [{ role: 'user', content: text }], seed });

describe('Cassette', () => {
  it('replays recorded replies by request, the n-th identical request getting the n-th reply', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cassette-')), 'c.jsonl');
    let n = 0;
    const live = Cassette.open({ mode: 'record', path }).wrap({ chat: async () => reply(`reply ${++n}`) }, 'coder');
    await live.chat(request('a'));
    await live.chat(request('a'));
    await live.chat(request('b'));
    const replay = Cassette.open({ mode: 'replay', path }).wrap(noCoder, 'coder');
    expect((await replay.chat(request('b'))).content).toBe('reply 3');
    expect((await replay.chat(request('a'))).content).toBe('reply 1');
    expect((await replay.chat(request('a'))).content).toBe('reply 2');
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('keys by scope and content, ignoring the abort signal and key order', () => {
    const a = cassetteKey('coder', { messages: [], temperature: 0.5, seed: 2 });
    const b = cassetteKey('coder', { seed: 2, temperature: 0.5, messages: [], signal: new AbortController().signal });
    expect(a).toBe(b);
    expect(cassetteKey('judge', { messages: [], temperature: 0.5, seed: 2 })).not.toBe(a);
    expect(cassetteKey('coder', { messages: [], temperature: 0.5, seed: 3 })).not.toBe(a);
  });

  it('fails with CASSETTE_MISS naming the request when replay has no reply', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cassette-')), 'c.jsonl');
    writeFileSync(path, '');
    const error = await Cassette.open({ mode: 'replay', path })
      .wrap(noCoder, 'coder')
      .chat(request('never recorded'))
      .catch((e) => e);
    expect(EvolutionError.isInstance(error) && error.code).toBe('CASSETTE_MISS');
    expect(error.message).toContain('never recorded');
  });

  it('drops a torn last line but rejects a corrupt line in the middle, naming file and line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cassette-')), 'c.jsonl');
    await Cassette.open({ mode: 'record', path })
      .wrap({ chat: async () => reply('ok') }, 'coder')
      .chat(request('a'));
    appendFileSync(path, '{"key":"abc","sco');
    expect((await Cassette.open({ mode: 'replay', path }).wrap(noCoder, 'coder').chat(request('a'))).content).toBe(
      'ok',
    );
    writeFileSync(path, `garbage\n${readFileSync(path, 'utf8')}`);
    expect(() => Cassette.open({ mode: 'replay', path })).toThrow(`${path}:1`);
  });

  it('fails with FILE_INVALID when the cassette to replay does not exist', () => {
    const error = (() => {
      try {
        Cassette.open({ mode: 'replay', path: '/nonexistent/c.jsonl' });
      } catch (e) {
        return e;
      }
    })();
    expect(EvolutionError.isInstance(error) && error.code).toBe('FILE_INVALID');
  });
});
