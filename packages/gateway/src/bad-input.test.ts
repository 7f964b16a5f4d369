import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './__tests__/test-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ server: { body_limit_bytes: 4096 } });
});
afterAll(() => h.close());

interface OpenAIErrorBody {
  error: { message: string; code: string; param: string | null };
}
const openaiError = async (r: Response) => ((await r.json()) as OpenAIErrorBody).error;
const ollamaError = async (r: Response) => ((await r.json()) as { error: string }).error;

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${h.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('bad input', () => {
  it('answers invalid JSON with 400 in OpenAI’s error shape', async () => {
    const r = await post('/v1/chat/completions', '{"model": "unity", "messages": [');
    expect(r.status).toBe(400);
    const error = await openaiError(r);
    expect(error.code).toBe('invalid_json');
    expect(error.message).toMatch(/not valid JSON/);
  });

  it('answers invalid JSON with 400 in Ollama’s error shape', async () => {
    const r = await post('/api/chat', 'model=unity', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(400);
    expect(await ollamaError(r)).toMatch(/not valid JSON/);
  });

  it('says what a message content may be when it is neither text nor content parts', async () => {
    const r = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 5 }] }),
    );
    expect(r.status).toBe(400);
    expect((await openaiError(r)).message).toContain('expected a string or a list of content parts');
  });

  it('answers a body that fails validation with 400 naming the field', async () => {
    const r = await post('/v1/chat/completions', JSON.stringify({ model: 'unity', messages: [{ role: 'user' }] }));
    expect(r.status).toBe(400);
    const error = await openaiError(r);
    expect(error.param).toBe('messages.0.content');
    expect(error.message).toContain('messages.0.content');
    const ollama = await post(
      '/api/chat',
      JSON.stringify({ model: 'unity', messages: [], options: { temperature: 'hot' } }),
    );
    expect(ollama.status).toBe(400);
    expect(await ollamaError(ollama)).toContain('options.temperature');
    const missing = await post('/api/generate', JSON.stringify({ prompt: 'x' }));
    expect(await ollamaError(missing)).toContain('model');
  });

  it('answers JSON nested past the depth limit with 400 naming the limit, on both protocols', async () => {
    const deep = `{"model":"unity","messages":[{"role":"user","content":"x","extra":${'['.repeat(1_000)}${']'.repeat(1_000)}}]}`;
    const r = await post('/v1/chat/completions', deep);
    expect(r.status).toBe(400);
    const error = await openaiError(r);
    expect(error.code).toBe('json_too_deep');
    expect(error.message).toContain('deeper than 64 levels (server.max_json_depth)');
    const ollama = await post('/api/chat', deep);
    expect(ollama.status).toBe(400);
    expect(await ollamaError(ollama)).toContain('server.max_json_depth');
  });

  it('answers /api/chat without messages with 400 naming the field', async () => {
    const r = await post('/api/chat', JSON.stringify({ model: 'unity' }));
    expect(r.status).toBe(400);
    expect(await ollamaError(r)).toMatch(/^POST \/api\/chat: messages: required/);
  });

  it('answers an unknown model with 404 listing the known ones', async () => {
    const r = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(r.status).toBe(404);
    const error = await openaiError(r);
    expect(error.code).toBe('unknown_model');
    expect(error.message).toContain('known models: unity, local, reasoning, coding, fallback');
    expect(h.cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('answers a body over the limit with 413', async () => {
    const big = JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'x'.repeat(10_000) }] });
    const r = await post('/v1/chat/completions', big);
    expect(r.status).toBe(413);
    expect((await openaiError(r)).code).toBe('body_too_large');
    const ollama = await post('/api/chat', big);
    expect(ollama.status).toBe(413);
    expect(await ollamaError(ollama)).toMatch(/larger than/);
  });

  it('answers an unknown route with 404', async () => {
    const r = await fetch(`${h.url}/v1/audio/speech`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(404);
    expect((await openaiError(r)).message).toContain('POST /v1/audio/speech');
  });

  it('counts refused chat requests in the request metrics, with their status', async () => {
    const refused = async () => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      const line =
        /unity_gateway_requests_total\{endpoint="ollama.generate",status="400",provider="none",stream="false"\} (\d+)/;
      return Number(line.exec(text)?.[1] ?? 0);
    };
    const before = await refused();
    await post('/api/generate', '{"model": ');
    await post('/api/generate', '{"model": ');
    expect(await refused()).toBe(before + 2);
  });
});
