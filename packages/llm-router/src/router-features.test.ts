import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatMessage, canonicalJson, sha256Hex, type ToolDefinition } from '@unity/core';
import { textToolCall } from '@unity/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ask,
  type ConfigPatch,
  cloudKey,
  collect,
  fakeConfig,
  routerFor,
  useRouterTestBed,
} from './__tests__/router-fixtures';
import type { AuditEntry } from './audit-log';
import { RouterError } from './errors';
import type { Router, RouterOptions } from './router';
import type { RouterEventMap } from './router-events';

const bed = useRouterTestBed();
const { fakes } = bed;

function use(patch: ConfigPatch = {}, options: Partial<RouterOptions> = {}): Router {
  return bed.use(routerFor(fakeConfig(fakes, patch), options));
}

const readFileTool: ToolDefinition = {
  name: 'read_file',
  description: 'Read a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const ollamaChats = () => fakes.ollama.requestsTo('/api/chat');
const chatModels = () => ollamaChats().map((q) => (q.body as { model: string }).model);
const localFirst: ConfigPatch = {
  cloud_llm: { enabled: false },
  models: { reasoning: 'ollama_chat/llama3.2:1b', fallback: 'ollama_chat/qwen2.5-coder:7b' },
};

describe('privacy', () => {
  it('sends nothing to the cloud when the config is local-only, streaming or not', async () => {
    const r = use({ privacy: { local_only: true } });
    expect((await r.chat(ask('secret'))).provider).toBe('ollama');
    const { text } = await collect(r.stream(ask('secret too')));
    expect(text).toBe('echo: secret too');
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('sends nothing to the cloud for a request marked local-only, even if the cloud is healthy', async () => {
    const r = use();
    const response = await r.chat({ ...ask('private'), localOnly: true });
    expect(response.provider).toBe('ollama');
    expect(response.attempts.map((a) => a.provider)).toEqual(['ollama']);
    expect(fakes.cloud.requests).toHaveLength(0);
  });

  it('refuses with NO_PROVIDER when local-only leaves no model, without contacting anything', async () => {
    const r = use({ cloud_llm: { fallback_to_local: false } });
    const error = await r.chat({ ...ask('x'), localOnly: true, model: 'minimax/MiniMax-M2' }).catch((e) => e);
    expect(RouterError.isInstance(error)).toBe(true);
    expect(error.code).toBe('NO_PROVIDER');
    expect(error.message).toContain('local-only withholds minimax/MiniMax-M2');
    expect(fakes.cloud.requests).toHaveLength(0);
  });
});

describe('capabilities', () => {
  it('never sends tools to a model whose capabilities lack "tools", and uses the next model', async () => {
    const r = use(localFirst);
    const response = await r.chat({ ...ask('read a.txt'), tools: [readFileTool] });
    expect(response.model).toBe('qwen2.5-coder:7b');
    expect(response.attempts[0]).toMatchObject({
      model: 'ollama_chat/llama3.2:1b',
      skipped: true,
      error: { code: 'UNSUPPORTED', message: expect.stringContaining('cannot call tools') },
    });
    expect(chatModels()).toEqual(['qwen2.5-coder:7b']);
  });

  it('refuses a prompt longer than the model’s context instead of truncating it, and falls back', async () => {
    const r = use(localFirst);
    const response = await r.chat(ask('word '.repeat(2_000)));
    expect(response.model).toBe('qwen2.5-coder:7b');
    expect(response.attempts[0]?.error?.message).toMatch(/does not fit ollama_chat\/llama3\.2:1b's context of 2048/);
    expect(chatModels()).toEqual(['qwen2.5-coder:7b']);
  });

  it('fails with the reason when no model can take the long prompt', async () => {
    const r = use({ ...localFirst, models: { ...localFirst.models, fallback: 'ollama_chat/llama3.2:1b' } });
    const error = await r.chat(ask('word '.repeat(2_000))).catch((e) => e);
    expect(error.code).toBe('ALL_PROVIDERS_FAILED');
    expect(error.message).toContain('it was not sent rather than truncated');
    expect(error.message).toContain('router.context_overflow: compact');
    expect(ollamaChats()).toHaveLength(0);
  });

  it('compacts explicitly when configured: drops the oldest turns, says so in the response and an event', async () => {
    const r = use({ ...localFirst, router: { context_overflow: 'compact' } });
    const compactions: RouterEventMap['compacted'][0][] = [];
    r.on('compacted', (e) => compactions.push(e));
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'word '.repeat(1_500) },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'last question' },
    ];
    const response = await r.chat({ messages });
    expect(response.model).toBe('llama3.2:1b');
    expect(response.compacted).toMatchObject({ droppedMessages: 1, contextLength: 2048 });
    expect(compactions).toHaveLength(1);
    const body = ollamaChats()[0]?.body as { messages: { content: string }[] } | undefined;
    expect(body?.messages.map((m) => m.content)).toEqual(['Be brief.', 'ok', 'last question']);
  });
});

describe('tool calls written as text', () => {
  it('become real tool calls when a qwen-style reply puts the call in <tool_call> text', async () => {
    const r = use({ cloud_llm: { enabled: false } });
    fakes.ollama.enqueue({ text: textToolCall('read_file', { path: 'a.txt' }, 'tagged') });
    const response = await r.chat({ ...ask('read a.txt'), tools: [readFileTool] });
    expect(response.toolCalls).toMatchObject([{ name: 'read_file', arguments: { path: 'a.txt' } }]);
    expect(response.content).toBe('');
  });

  it('become real tool-call events in a stream when the reply is bare JSON', async () => {
    const r = use({ cloud_llm: { enabled: false } });
    fakes.ollama.enqueue({ text: textToolCall('read_file', { path: 'b.txt' }, 'bare') });
    const { events } = await collect(r.stream({ ...ask('read b.txt'), tools: [readFileTool] }));
    expect(events.filter((e) => e.type === 'text-delta')).toEqual([]);
    expect(events.find((e) => e.type === 'tool-call')).toMatchObject({
      toolCall: { name: 'read_file', arguments: { path: 'b.txt' } },
    });
    const finish = events.at(-1);
    expect(finish?.type === 'finish' && finish.response.toolCalls).toHaveLength(1);
  });
});

describe('response cache', () => {
  const cached: ConfigPatch = { router: { cache: { enabled: true, max_entries: 10, ttl_seconds: 60 } } };

  it('answers an identical request from the cache without contacting any model', async () => {
    const r = use(cached);
    const hits: unknown[] = [];
    r.on('cache-hit', (e) => hits.push(e));
    const first = await r.chat({ ...ask('same'), temperature: 0 });
    const second = await r.chat({ ...ask('same'), temperature: 0 });
    expect(second).toMatchObject({ content: first.content, provider: 'minimax', cached: true, attempts: [] });
    expect(hits).toHaveLength(1);
    expect(fakes.cloud.requests).toHaveLength(1);
  });

  it('misses when anything in the request differs', async () => {
    const r = use(cached);
    await r.chat({ ...ask('same'), temperature: 0 });
    const other = await r.chat({ ...ask('same'), temperature: 1 });
    expect(other.cached).toBeUndefined();
    expect(fakes.cloud.requests).toHaveLength(2);
  });

  it('caches a streamed answer and replays it as a stream', async () => {
    const r = use(cached);
    const live = await collect(r.stream(ask('streamed once')));
    const replayed = await collect(r.stream(ask('streamed once')));
    expect(replayed.text).toBe(live.text);
    const finish = replayed.events.at(-1);
    expect(finish?.type === 'finish' && finish.response.cached).toBe(true);
    expect(fakes.cloud.requests).toHaveLength(1);
  });

  it('does not cache failures', async () => {
    const r = use({ ...cached, cloud_llm: { fallback_to_local: false } });
    fakes.cloud.enqueue({ fault: 'status', status: 500 });
    await r.chat(ask('flaky')).catch(() => {});
    expect((await r.chat(ask('flaky'))).cached).toBeUndefined();
  });
});

describe('audit trail', () => {
  let dir: string;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const readAudit = async (path: string) =>
    (await readFile(path, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEntry);

  it('writes one valid line per call under concurrency, with hashes and not the text', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-router-audit-'));
    const path = join(dir, 'audit.jsonl');
    const r = use({}, { auditPath: path });
    const prompts = Array.from({ length: 25 }, (_, i) => `question number ${i}`);
    await Promise.all(prompts.map((p, i) => (i % 2 ? r.chat(ask(p)) : collect(r.stream(ask(p))))));
    await r.close();
    const entries = await readAudit(path);
    expect(entries).toHaveLength(25);
    const expectedHash = sha256Hex(canonicalJson({ messages: ask(prompts[3]!).messages, tools: undefined }));
    const entry = entries.find((e) => e.promptSha256 === expectedHash);
    expect(entry).toMatchObject({ ok: true, provider: 'minimax', model: 'MiniMax-M2', kind: 'chat', cached: false });
    expect(entry?.attempts).toEqual([
      { provider: 'minimax', model: 'minimax/MiniMax-M2', ok: true, ms: expect.any(Number) },
    ]);
    expect(entry?.answerSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(entry?.usage?.totalTokens).toBeGreaterThan(0);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain('question number');
  });

  it('never repeats an API key the upstream quotes back in the error it throws', async () => {
    const r = use();
    fakes.cloud.enqueue({ fault: 'status', status: 401, message: `Incorrect API key provided: ${cloudKey}` });
    const error = await r.chat(ask('bad key')).catch((e) => e);
    expect(error.code).toBe('REQUEST_REFUSED');
    expect(error.message).toContain('Incorrect API key provided: [redacted]');
    expect(JSON.stringify(error.attempts)).not.toContain(cloudKey);
  });

  it('records failures and never writes the API key, even when the upstream quotes it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-router-audit-'));
    const path = join(dir, 'audit.jsonl');
    const r = use({}, { auditPath: path });
    fakes.cloud.enqueue({ fault: 'status', status: 401, message: `Incorrect API key provided: ${cloudKey}` });
    await r.chat(ask('bad key')).catch(() => {});
    await r.close();
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(cloudKey);
    const [entry] = await readAudit(path);
    expect(entry).toMatchObject({ ok: false, error: { code: 'REQUEST_REFUSED' }, attempts: [{ code: 'AUTH_FAILED' }] });
  });

  it('includes the prompt and answer text only when opted in', async () => {
    dir = await mkdtemp(join(tmpdir(), 'unity-router-audit-'));
    const path = join(dir, 'audit.jsonl');
    const r = use({ router: { audit: { enabled: true, path, include_text: true } } });
    await r.chat(ask('visible'));
    await r.close();
    const [entry] = await readAudit(path);
    expect(entry?.prompt).toEqual([{ role: 'user', content: 'visible' }]);
    expect(entry?.answer).toBe('echo: visible');
  });
});
