import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ask, cloudKey, fakeConfig, routerFor, useRouterTestBed } from './__tests__/router-fixtures';
import { parseConfig } from './config';
import { ProviderFactory } from './provider-factory';
import type { Router } from './router';
import { createRouter } from './router';

const { fakes, use } = useRouterTestBed();
const password = 'Hunter2-pass';

/** Everything a failed call leaves behind: the error, its attempts, the events and the audit trail. */
async function failedCallTrace(router: Router, auditPath: string): Promise<{ message: string; text: string }> {
  const events: unknown[] = [];
  for (const name of ['attempt', 'retry', 'fallback', 'request-end'] as const) {
    router.on(name, (event: unknown) => events.push(event));
  }
  const error = await router.chat(ask('leak?')).catch((e: Error) => e);
  await router.close();
  const audit = await readFile(auditPath, 'utf8');
  const message = String((error as Error).message);
  return {
    message,
    text: [
      message,
      JSON.stringify((error as { attempts?: unknown }).attempts),
      JSON.stringify(events, (_k, v) => (v instanceof Error ? v.message : v)),
      audit,
    ].join('\n'),
  };
}

describe('secrets in errors, events and the audit trail', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('never repeats the password written into cloud_llm.base_url', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-router-redact-'));
    const auditPath = join(dir, 'audit.jsonl');
    const baseURL = fakes.cloud.baseURL.replace('http://', `http://user:${password}@`);
    const config = fakeConfig(fakes, { cloud_llm: { base_url: baseURL, fallback_to_local: false } });
    fakes.cloud.enqueue({ fault: 'status', status: 500, message: `upstream saw ${baseURL}` });
    const { message, text } = await failedCallTrace(use(routerFor(config, { auditPath })), auditPath);
    expect(message).toContain('user:[redacted]@');
    expect(text).not.toContain(password);
  });

  it('redacts a short key and its URL-encoded form that the upstream quotes back', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-router-redact-'));
    const auditPath = join(dir, 'audit.jsonl');
    const shortKey = 'k9/Z';
    const config = fakeConfig(fakes, { cloud_llm: { fallback_to_local: false } });
    // The fake cloud wants its own key; the short one is OpenAI's, which the router knows and redacts just the same.
    const router = use(
      createRouter({ config, env: { MINIMAX_API_KEY: cloudKey, OPENAI_API_KEY: shortKey }, auditPath }),
    );
    fakes.cloud.enqueue({
      fault: 'status',
      status: 401,
      message: `Incorrect API key provided: ${shortKey} (sent as ?key=${encodeURIComponent(shortKey)})`,
    });
    const { message, text } = await failedCallTrace(router, auditPath);
    expect(message).toContain('Incorrect API key provided: [redacted] (sent as ?key=[redacted])');
    expect(text).not.toContain(shortKey);
    expect(text).not.toContain(encodeURIComponent(shortKey));
  });

  it('redacts the password of an Ollama host in connection errors', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-router-redact-'));
    const auditPath = join(dir, 'audit.jsonl');
    const host = fakes.ollama.host.replace('http://', `http://ollama:${password}@`);
    await fakes.ollama.refuse?.();
    const config = fakeConfig(fakes, { cloud_llm: { enabled: false }, ollama: { host } });
    const { message, text } = await failedCallTrace(use(routerFor(config, { auditPath })), auditPath);
    expect(message).toContain('ollama:[redacted]@');
    expect(text).not.toContain(password);
  });
});

describe('secrets the router redacts', () => {
  it('include the password of the response cache’s Redis URL', () => {
    const config = parseConfig(
      stringify({ router: { cache: { enabled: true, store: 'redis', redis_url: 'redis://:Cache-pw-9@127.0.0.1:1' } } }),
      'secrets.yaml',
    );
    expect(new ProviderFactory({ config, env: {} }).secrets).toContain('Cache-pw-9');
  });
});
