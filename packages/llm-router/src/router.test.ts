import { emptyUsage } from '@unity/core';
import type { Fault } from '@unity/test-kit';
import { freePort } from '@unity/test-kit';
import { describe, expect, it } from 'vitest';
import { ask, collect, fakeConfig, ollamaFirstConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import { ConfigError, RouterError } from './errors';
import type { Provider } from './provider';
import { createRouter } from './router';
import type { RouterEventMap } from './router-events';

const { fakes, use } = useRouterTestBed();

describe('createRouter', () => {
  it('refuses a missing config with a clear error and the fix, not a TypeError', () => {
    const error = (() => {
      try {
        // What a JavaScript caller may do.
        createRouter({} as Parameters<typeof createRouter>[0]);
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error) && error.code).toBe('CONFIG_INVALID');
    expect((error as ConfigError).message).toBe('createRouter: options.config is missing');
    expect((error as ConfigError).fix).toMatch(/^pass a loaded config/);
  });
});

describe('the chain', () => {
  it('answers from the cloud model first, listing one successful attempt', async () => {
    const r = use(routerFor(fakeConfig(fakes)));
    const response = await r.chat(ask('hello'));
    expect(response).toMatchObject({ content: 'echo: hello', provider: 'minimax', model: 'MiniMax-M2' });
    expect(response.attempts).toEqual([
      { provider: 'minimax', model: 'minimax/MiniMax-M2', ok: true, ms: expect.any(Number) },
    ]);
    expect(fakes.ollama.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('goes straight to the local models when the cloud is disabled', async () => {
    const r = use(routerFor(fakeConfig(fakes, { cloud_llm: { enabled: false } })));
    const response = await r.chat(ask('hi'));
    expect(response.provider).toBe('ollama');
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('uses the model of the requested role after the cloud', async () => {
    const config = fakeConfig(fakes, { models: { coding: 'ollama_chat/llama3.2:1b' } });
    const r = use(routerFor(config));
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    const response = await r.chat({ ...ask('code'), role: 'coding' });
    expect(response.attempts.map((a) => a.model)).toEqual(['minimax/MiniMax-M2', 'ollama_chat/llama3.2:1b']);
  });

  it('does not fall back when fallback_to_local is false', async () => {
    const r = use(routerFor(fakeConfig(fakes, { cloud_llm: { fallback_to_local: false } })));
    fakes.cloud.enqueue({ fault: 'status', status: 502 });
    const error = await r.chat(ask('x')).catch((e) => e);
    expect(RouterError.isInstance(error)).toBe(true);
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.attempts).toHaveLength(1);
    expect(fakes.ollama.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('skips the cloud without sending anything when its key variable is unset, and says which variable', async () => {
    const r = use(routerFor(fakeConfig(fakes), { env: {} }));
    const response = await r.chat(ask('no key'));
    expect(response.provider).toBe('ollama');
    expect(response.attempts[0]).toMatchObject({
      provider: 'minimax',
      ok: false,
      skipped: true,
      error: { code: 'AUTH_FAILED', message: expect.stringContaining('MINIMAX_API_KEY is not set') },
    });
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('tries a model named in the request first', async () => {
    const r = use(routerFor(fakeConfig(fakes)));
    const response = await r.chat({ ...ask('pick'), model: 'ollama_chat/llama3.2:1b' });
    expect(response.model).toBe('llama3.2:1b');
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('skips a provider the health monitor reports down, without contacting it', async () => {
    const r = use(routerFor(fakeConfig(fakes), { health: { isUp: (id) => (id === 'minimax' ? false : undefined) } }));
    const response = await r.chat(ask('healthy?'));
    expect(response.provider).toBe('ollama');
    expect(response.attempts[0]).toMatchObject({ provider: 'minimax', skipped: true, error: { code: 'UNHEALTHY' } });
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('loads the embedded engine for a llamacpp/ model and falls back past a missing GGUF file', async () => {
    const config = fakeConfig(fakes, { models: { reasoning: 'llamacpp/./no-such-model.gguf' } });
    const r = use(routerFor(config, { env: {} }));
    const response = await r.chat(ask('embedded?'));
    expect(response.provider).toBe('ollama');
    expect(response.attempts.map((a) => `${a.provider}:${a.error?.code ?? 'ok'}`)).toEqual([
      'minimax:AUTH_FAILED',
      'llamacpp:MODEL_NOT_FOUND',
      'ollama:ok',
    ]);
  });

  it('rejects a request naming a model with an unknown provider as a ConfigError', async () => {
    const r = use(routerFor(fakeConfig(fakes)));
    const ends: unknown[] = [];
    r.on('request-end', (e) => ends.push(e));
    const error = await r.chat({ ...ask('x'), model: 'anthropic/claude' }).catch((e) => e);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect(error.message).toContain('request.model: unknown provider "anthropic"');
    expect(ends).toEqual([]);
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('serves a role through forRole as a plain ChatModel', async () => {
    const config = fakeConfig(fakes, { cloud_llm: { enabled: false }, models: { coding: 'ollama_chat/llama3.2:1b' } });
    const coder = use(routerFor(config)).forRole('coding');
    expect((await coder.chat(ask('c'))).model).toBe('llama3.2:1b');
  });
});

// Each fault on the first model's protocol: `fallback` when the next model must answer, `refused` when the caller's
// own error stops the request, with the fake's error message.
const chatFaults: [string, 'fallback' | 'refused', Fault][] = [
  ['connection reset', 'fallback', { fault: 'reset' }],
  ['HTTP 500', 'fallback', { fault: 'status', status: 500 }],
  ['HTTP 502', 'fallback', { fault: 'status', status: 502 }],
  ['HTTP 503', 'fallback', { fault: 'status', status: 503 }],
  ['HTTP 408', 'fallback', { fault: 'status', status: 408 }],
  ['HTTP 409', 'fallback', { fault: 'status', status: 409 }],
  ['HTTP 429', 'fallback', { fault: 'status', status: 429 }],
  ['HTTP 404 model not found', 'fallback', { fault: 'status', status: 404 }],
  ['a body cut in the middle', 'fallback', { fault: 'cut-after-chunks', chunks: 1 }],
  ['malformed JSON', 'fallback', { fault: 'malformed-json' }],
  ['an error reported under HTTP 200', 'fallback', { fault: 'base-resp' }],
  ['HTTP 400', 'refused', { fault: 'status', status: 400 }],
  ['HTTP 401', 'refused', { fault: 'status', status: 401 }],
  ['HTTP 403', 'refused', { fault: 'status', status: 403 }],
];

describe.each([
  ['cloud (OpenAI protocol)', 'cloud', 'minimax', 'ollama'],
  ['Ollama (native protocol)', 'ollama', 'ollama', 'openai'],
] as const)('faults on the %s', (_name, first, firstId, secondId) => {
  const configFor = () => (first === 'cloud' ? fakeConfig(fakes) : ollamaFirstConfig(fakes));
  const primary = () => (first === 'cloud' ? fakes.cloud : fakes.ollama);
  const secondaryRequests = () =>
    first === 'cloud' ? fakes.ollama.requestsTo('/api/chat') : fakes.cloud.requestsTo('/chat/completions');

  it.each(chatFaults)('chat: %s → %s', async (_label, expected, fault) => {
    const r = use(routerFor(configFor()));
    primary().enqueue(fault);
    if (expected === 'fallback') {
      const response = await r.chat(ask('q'));
      expect(response.provider).toBe(secondId);
      expect(response.content).toBe('echo: q');
      expect(response.attempts.map((a) => [a.provider, a.ok])).toEqual([
        [firstId, false],
        [secondId, true],
      ]);
      expect(response.attempts[0]?.error?.code).toMatch(/^[A-Z_]+$/);
    } else {
      const error = await r.chat(ask('q')).catch((e) => e);
      expect(RouterError.isInstance(error)).toBe(true);
      expect(error.code).toBe('REQUEST_REFUSED');
      expect(error.message).toContain('Not falling back');
      expect(error.fix).toContain('router.fallback_on_client_errors: true');
      expect(secondaryRequests()).toHaveLength(0);
    }
  });

  it.each([
    ['connection reset', { fault: 'reset' } as Fault],
    ['a stream cut before its first token', { fault: 'cut-before-first-token' } as Fault],
    ['an error inside the stream before any token', { fault: 'stream-error', chunks: 0 } as Fault],
    ['malformed JSON in the stream', { fault: 'malformed-json' } as Fault],
    ['HTTP 503', { fault: 'status', status: 503 } as Fault],
    ['HTTP 429', { fault: 'status', status: 429 } as Fault],
    ['HTTP 404 model not found', { fault: 'status', status: 404 } as Fault],
    ['an error reported under HTTP 200', { fault: 'base-resp' } as Fault],
  ])('stream: %s before the first token falls back invisibly', async (_label, fault) => {
    const r = use(routerFor(configFor()));
    primary().enqueue(fault);
    const { events, text, thrown } = await collect(r.stream(ask('streamed')));
    expect(thrown).toBeUndefined();
    expect(text).toBe('echo: streamed');
    expect(events.some((e) => e.type === 'error')).toBe(false);
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.provider).toBe(secondId);
  });

  // Ollama's error line is sent with the chunks before it in one write; its provider rejects that whole network
  // chunk, so no token reaches the router and it falls back invisibly. The cloud's SSE error event is tested here.
  it('stream: a refused key ends the request before any token, without falling back', async () => {
    const r = use(routerFor(configFor()));
    primary().enqueue({ fault: 'status', status: 401 });
    const { events, thrown } = await collect(r.stream(ask('key')));
    expect(events).toEqual([]);
    expect(RouterError.isInstance(thrown) && thrown.code).toBe('REQUEST_REFUSED');
    expect(secondaryRequests()).toHaveLength(0);
  });

  const afterCommit: [string, Fault][] = [
    ['a cut after two chunks', { fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four' } }],
  ];
  if (first === 'cloud') afterCommit.push(['an error event after two chunks', { fault: 'stream-error', chunks: 2 }]);
  it.each(afterCommit)('stream: %s ends with an error event and no second model’s text', async (_label, fault) => {
    const r = use(routerFor(configFor()));
    primary().enqueue(fault);
    const { events, thrown } = await collect(r.stream(ask('a b c d')));
    expect(thrown).toBeUndefined();
    const last = events.at(-1);
    expect(last?.type).toBe('error');
    if (last?.type === 'error') {
      expect(last.error.code).toBe('STREAM_INTERRUPTED');
      expect(last.error.attempts.at(-1)).toMatchObject({ provider: firstId, ok: false });
    }
    expect(events.filter((e) => e.type === 'text-delta')).toHaveLength(2);
    expect(events.some((e) => e.type === 'finish')).toBe(false);
    expect(secondaryRequests()).toHaveLength(0);
  });

  it('falls back from a model that never answers once its attempt timeout passes, naming the setting', async () => {
    const config =
      first === 'cloud'
        ? fakeConfig(fakes, { cloud_llm: { timeout_seconds: 0.3 } })
        : ollamaFirstConfig(fakes, { router: { local_timeout_seconds: 0.3 } });
    // The fallback of the Ollama-first chain is local too: give it its normal answer despite the short timeout.
    const r = use(routerFor(config));
    primary().enqueue({ fault: 'hang' });
    const response = await r.chat(ask('slow'));
    expect(response.provider).toBe(secondId);
    expect(response.attempts[0]?.error).toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining(
        first === 'cloud' ? 'cloud_llm.timeout_seconds = 0.3' : 'router.local_timeout_seconds = 0.3',
      ),
    });
    await primary().waitForRequests(1);
    const hung = primary().requests.find((q) => q.path.endsWith('/chat/completions') || q.path === '/api/chat');
    await expect.poll(() => hung?.aborted).toBe(true);
  });

  it('falls back from a stream whose first token is later than the first-token timeout', async () => {
    const config = (first === 'cloud' ? fakeConfig : ollamaFirstConfig)(fakes, {
      router: { first_token_timeout_seconds: 0.3 },
    });
    const r = use(routerFor(config));
    primary().enqueue({ fault: 'slow-first-byte', ms: 5_000 });
    const { text, events } = await collect(r.stream(ask('late')));
    expect(text).toBe('echo: late');
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.attempts[0]?.error?.message).toContain(
      'router.first_token_timeout_seconds = 0.3',
    );
  });
});

describe('failures of every model', () => {
  it('throws ALL_PROVIDERS_FAILED naming each model, its failure and its fix', async () => {
    const port = await freePort();
    const config = fakeConfig(fakes, { ollama: { host: `http://127.0.0.1:${port}` } });
    const r = use(routerFor(config, { env: {} }));
    const error = await r.chat(ask('anyone?')).catch((e) => e);
    expect(RouterError.isInstance(error)).toBe(true);
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.message).toContain('minimax/MiniMax-M2 (minimax) skipped: MINIMAX_API_KEY is not set');
    expect(error.message).toContain('fix: export MINIMAX_API_KEY=<your key>');
    expect(error.message).toMatch(/ollama_chat\/qwen2\.5-coder:7b \(ollama\) failed: .*\[CONNECTION_FAILED\]/);
    expect(error.message).toMatch(/ollama_chat\/llama3\.2:1b \(ollama\) failed: .*\[CONNECTION_FAILED\]/);
    expect(error.message).toContain('then `ollama pull qwen2.5-coder:7b` if the model is not pulled yet');
    expect(error.attempts.map((a: { provider: string }) => a.provider)).toEqual(['minimax', 'ollama', 'ollama']);
  });

  it('falls back on client errors when configured to, and says so in the attempts', async () => {
    const config = fakeConfig(fakes, { router: { fallback_on_client_errors: true } });
    const r = use(routerFor(config));
    fakes.cloud.enqueue({ fault: 'status', status: 401 });
    const response = await r.chat(ask('k'));
    expect(response.provider).toBe('ollama');
    expect(response.attempts[0]?.error?.code).toBe('AUTH_FAILED');
  });

  it('emits an event for every attempt and for the fallback', async () => {
    const r = use(routerFor(fakeConfig(fakes)));
    const seen: string[] = [];
    const fallbacks: RouterEventMap['fallback'][0][] = [];
    r.on('attempt-start', (e) => seen.push(`start ${e.provider}`));
    r.on('attempt', (e) => seen.push(`${e.ok ? 'ok' : 'fail'} ${e.provider}`));
    r.on('fallback', (e) => fallbacks.push(e));
    r.on('request-end', (e) => seen.push(`end ${e.ok}`));
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    await r.chat(ask('e'));
    expect(seen).toEqual(['start minimax', 'fail minimax', 'start ollama', 'ok ollama', 'end true']);
    expect(fallbacks).toEqual([
      {
        requestId: expect.any(Number),
        from: { provider: 'minimax', model: 'minimax/MiniMax-M2' },
        to: { provider: 'ollama', model: 'ollama_chat/qwen2.5-coder:7b' },
        reason: expect.objectContaining({ code: 'SERVER_ERROR' }),
      },
    ]);
  });
});

describe('stream clean-up', () => {
  it("closes the provider's stream after its finish event, so the provider's own clean-up runs", async () => {
    let cleanedUp = false;
    const provider: Provider = {
      id: 'ollama',
      kind: 'ollama',
      remote: false,
      chat: () => Promise.reject(new Error('stream only')),
      async *stream() {
        try {
          yield { type: 'text-delta', text: 'hi' };
          yield { type: 'finish', finishReason: 'stop', usage: emptyUsage(), model: 'm' };
        } finally {
          cleanedUp = true;
        }
      },
    };
    const r = use(routerFor(fakeConfig(fakes, { cloud_llm: { enabled: false } }), { providers: { ollama: provider } }));
    const { text } = await collect(r.stream(ask('x')));
    expect(text).toBe('hi');
    expect(cleanedUp).toBe(true);
  });
});
