import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeOllama, FakeOpenAI, freePort } from '@unity/test-kit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stopMessage } from './run';

const bin = new URL('../../bin/unity.js', import.meta.url).pathname;

let cloud: FakeOpenAI;
let local: FakeOllama;
let dir: string;
let root: string;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
});
afterAll(async () => {
  await cloud.close();
  await local.close();
});
beforeEach(async () => {
  cloud.reset();
  local.reset();
  dir = await mkdtemp(join(tmpdir(), 'unity-run-'));
  root = join(dir, 'work');
  await import('node:fs/promises').then((fs) => fs.mkdir(root));
  await writeFile(join(root, 'notes.txt'), 'the answer is 42\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(extra = '', ollamaHost = local.host): Promise<string> {
  const file = join(dir, 'system.yaml');
  await writeFile(
    file,
    [
      'cloud_llm:',
      '  provider: minimax',
      '  model: MiniMax-M2',
      `  base_url: ${cloud.baseURL}`,
      '  api_key_env: UNITY_RUN_TEST_KEY',
      '  max_iterations: 12',
      'models:',
      '  reasoning: ollama_chat/qwen2.5-coder:7b',
      '  coding: ollama_chat/qwen2.5-coder:7b',
      '  fallback: ollama_chat/qwen2.5-coder:7b',
      'ollama:',
      `  host: ${ollamaHost}`,
      'convergence_warnings: [3, 6, 9]',
      'router:',
      '  retries: { max_retries: 0 }',
      extra,
    ].join('\n'),
  );
  return file;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function unity(
  args: string[],
  options: { input?: string; onSpawn?: (kill: () => void) => void; env?: Record<string, string> } = {},
) {
  return new Promise<Outcome>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', UNITY_RUN_TEST_KEY: 'test-key', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
    options.onSpawn?.(() => child.kill('SIGINT'));
  });
}

const readNotes = { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }] };

describe('unity run (built binary, as a real process)', () => {
  it('prints progress on stderr and the answer on stdout, exiting 0 when the model finished', async () => {
    cloud.enqueue(readNotes, { text: 'The notes say 42.' });
    const config = await writeConfig();
    const out = await unity(['run', 'What do the notes say?', '--config', config, '--root', root]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('The notes say 42.\n');
    expect(out.stderr).toContain('step 1');
    expect(out.stderr).toMatch(/read_file \{"path":"notes.txt"\}/);
    expect(out.stderr).toMatch(/completed · 2 steps, 1 tool calls/);
    const second = cloud.requestsTo('/chat/completions')[1]?.body as { messages: { content: string }[] };
    expect(second.messages.at(-1)?.content).toContain('the answer is 42');
  });

  it('prints one JSON object with --json: answer, stop reason, iterations, tool calls by name, usage', async () => {
    cloud.enqueue(readNotes, readNotes, { text: 'Done.' });
    const config = await writeConfig();
    const out = await unity(['run', 'Read the notes twice.', '--config', config, '--root', root, '--json']);
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout);
    expect(json).toMatchObject({
      answer: 'Done.',
      stopReason: 'completed',
      iterations: 3,
      toolCalls: { read_file: 2 },
      usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number), totalTokens: expect.any(Number) },
    });
    expect(json.messages).toBeUndefined();
  });

  it('reads the task from stdin when it is "-"', async () => {
    cloud.enqueue({ text: 'ok' });
    const config = await writeConfig();
    const out = await unity(['run', '-', '--config', config, '--root', root], { input: 'Task from stdin' });
    expect(out.code).toBe(0);
    const first = cloud.requestsTo('/chat/completions')[0]?.body as { messages: { content: string }[] };
    expect(first.messages.at(-1)?.content).toBe('Task from stdin');
  });

  it('exits 3 at the iteration limit, after reminders and a final answer without tools', async () => {
    let n = 0;
    cloud.setDefault((request) =>
      Array.isArray(request.body.tools)
        ? { toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt', offset: 1, limit: ++n } }] }
        : { text: 'Best effort: 42.' },
    );
    const config = await writeConfig();
    const out = await unity(['run', 'Keep reading.', '--config', config, '--root', root, '--max-iterations', '5']);
    expect(out.code).toBe(3);
    expect(out.stdout).toBe('Best effort: 42.\n');
    expect(out.stderr).toContain('reminder after 3 tool calls: consider wrapping up');
    expect(out.stderr).toContain('iteration limit reached');
    expect(out.stderr).toContain('unity: stopped at the iteration limit (5)');
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(5);
  });

  it('exits 4 naming the repetition when the model is stuck', async () => {
    cloud.setDefault(readNotes);
    const config = await writeConfig();
    const out = await unity(['run', 'Read.', '--config', config, '--root', root]);
    expect(out.code).toBe(4);
    expect(out.stderr).toContain('repetition: read_file {"path":"notes.txt"} returned the same result 4 times');
    expect(out.stderr).toContain(
      'unity: stopped: stuck: read_file {"path":"notes.txt"} returned the same result 5 times',
    );
  });

  it('exits 5 when the token budget is spent', async () => {
    let n = 0;
    cloud.setDefault(() => ({
      toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt', limit: ++n } }],
      usage: { promptTokens: 100, completionTokens: 100 },
    }));
    const config = await writeConfig();
    const out = await unity(['run', 'Read.', '--config', config, '--root', root, '--max-total-tokens', '500']);
    expect(out.code).toBe(5);
    expect(out.stderr).toContain('unity: stopped: token budget spent (600 tokens)');
  });

  it('exits 5 when the cost budget is spent, priced by --price-per-1k', async () => {
    let n = 0;
    cloud.setDefault(() => ({
      toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt', limit: ++n } }],
      usage: { promptTokens: 100, completionTokens: 100 },
    }));
    const config = await writeConfig();
    const out = await unity([
      'run',
      'Read.',
      '--config',
      config,
      '--root',
      root,
      '--max-cost-usd',
      '0.5',
      '--price-per-1k',
      '1,1',
    ]);
    expect(out.code).toBe(5);
    expect(out.stderr).toContain('unity: stopped: cost budget spent ($0.6000)');
  });

  it('refuses --max-cost-usd without prices, and the old --max-tokens with its new name', async () => {
    const config = await writeConfig();
    const unpriced = await unity(['run', 'x', '--config', config, '--root', root, '--max-cost-usd', '1']);
    expect(unpriced.code).toBe(1);
    expect(unpriced.stderr).toContain('--max-cost-usd needs --price-per-1k');
    const renamed = await unity(['run', 'x', '--max-tokens', '500']);
    expect(renamed.code).toBe(1);
    expect(renamed.stderr).toContain('--max-tokens was renamed --max-total-tokens');
  });

  it('continues on the local model when the cloud fails mid-task', async () => {
    cloud.enqueue(readNotes);
    cloud.setDefault({ fault: 'status', status: 503 });
    local.enqueue({ text: 'Locally: 42.' });
    const config = await writeConfig();
    const out = await unity(['run', 'What do the notes say?', '--config', config, '--root', root]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('Locally: 42.\n');
    expect(out.stderr).toMatch(/now answering: ollama/);
  });

  it('exits 1 with the reason when no model can answer', async () => {
    cloud.setDefault({ fault: 'status', status: 503 });
    const config = await writeConfig('', `http://127.0.0.1:${await freePort()}`);
    const out = await unity(['run', 'Anything.', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/unity: failed: /);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops with exit 130 on Ctrl-C during a hanging model call, cancelling it', async () => {
    cloud.enqueue({ fault: 'hang' });
    const config = await writeConfig();
    const out = await unity(['run', 'Wait.', '--config', config, '--root', root], {
      onSpawn: (interrupt) => {
        void cloud.waitForRequests(1, 15_000).then(interrupt);
      },
    });
    expect(out.code).toBe(130);
    expect(out.stderr).toContain('unity: stopped: aborted');
    await expect.poll(() => cloud.requests[0]?.aborted).toBe(true);
  });

  it('refuses an invalid --max-iterations with a short message', async () => {
    const out = await unity(['run', 'x', '--max-iterations', 'many']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('expected a positive integer, got "many"');
  });

  it('names the config file and field of an invalid agent setting', async () => {
    const config = await writeConfig('agent:\n  budget: { max_seconds: ten }');
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/system\.yaml:\d+: agent\.budget\.max_seconds: expected number, got "ten"/);
  });

  it('warns on every start that commands run unconfined when tools.sandbox is none', async () => {
    cloud.enqueue({ text: 'Done.' });
    const config = await writeConfig('tools:\n  sandbox: none');
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/warning: tools\.sandbox is none: commands and evaluators run WITHOUT an OS sandbox/);
  });

  it('warns at the start when a model of diagnostics.require_models is not pulled, and runs all the same', async () => {
    cloud.enqueue({ text: 'Done.' });
    const config = await writeConfig('diagnostics:\n  require_models: ["llama3.3:70b"]');
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/unity: warning: llama3\.3:70b is not pulled .*\(fix: `ollama pull llama3\.3:70b`\)/);
  });

  it('refuses to start with diagnostics.enforce when a required model is missing', async () => {
    const config = await writeConfig('diagnostics:\n  require_models: ["llama3.3:70b"]\n  enforce: true');
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('diagnostics.require_models are not all available, and diagnostics.enforce is on');
    expect(cloud.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('says nothing about required models when they are pulled', async () => {
    cloud.enqueue({ text: 'Done.' });
    const out = await unity(['run', 'x', '--config', await writeConfig(), '--root', root]);
    expect(out.stderr).not.toContain('require_models');
  });

  it('gives web_search the SearXNG instance that SEARXNG_URL names', async () => {
    const searches: string[] = [];
    const searxng = createServer((req, res) => {
      searches.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ results: [{ title: 'Unity', url: 'https://example.org/u', content: 'found it' }] }));
    });
    await new Promise<void>((r) => searxng.listen(0, '127.0.0.1', r));
    try {
      cloud.enqueue({ toolCalls: [{ name: 'web_search', arguments: { query: 'unity toolkit' } }] }, { text: 'Done.' });
      const config = await writeConfig();
      const url = `http://127.0.0.1:${(searxng.address() as AddressInfo).port}`;
      const out = await unity(['run', 'Search.', '--config', config, '--root', root], { env: { SEARXNG_URL: url } });
      expect(out.code).toBe(0);
      expect(searches[0]).toMatch(/^\/search\?.*q=unity\+toolkit/);
      const second = cloud.requestsTo('/chat/completions')[1]?.body as { messages: { content: string }[] };
      expect(second.messages.at(-1)?.content).toContain('found it');
    } finally {
      searxng.close();
    }
  });

  it('names the file and field of an unknown sandbox mode', async () => {
    const config = await writeConfig('tools:\n  sandbox: docker');
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/system\.yaml:\d+: tools\.sandbox: expected one of "bwrap", "none", got "docker"/);
  });

  describe('--domain', () => {
    type Body = { messages: { role: string; content: string }[]; tools?: { function: { name: string } }[] };
    const body = (i: number) => cloud.requestsTo('/chat/completions')[i]?.body as Body;
    const toolNames = (b: Body) => (b.tools ?? []).map((t) => t.function.name);

    it("runs with the named preset's system prompt and only its tools", async () => {
      cloud.enqueue({ text: 'Planned.' });
      const config = await writeConfig();
      const out = await unity(['run', 'Plan it.', '--config', config, '--root', root, '--domain', 'reasoning']);
      expect(out.code).toBe(0);
      expect(out.stdout).toBe('Planned.\n');
      expect(body(0).messages[0]?.role).toBe('system');
      expect(toolNames(body(0))).toEqual(['read_file', 'list_files', 'search_files', 'memory_query']);
    });

    it('lets the model pick the preset with "auto", and says which it picked', async () => {
      cloud.enqueue({ text: '{"domain":"research","reason":"it needs the web"}' }, { text: 'Found it.' });
      const config = await writeConfig();
      const out = await unity(['run', 'Look this up.', '--config', config, '--root', root, '--domain', 'auto']);
      expect(out.code).toBe(0);
      expect(out.stderr).toContain('domain: research (model: it needs the web)');
      expect(toolNames(body(1))).toContain('web_search');
      expect(toolNames(body(1))).not.toContain('write_file');
    });

    it('refuses an unknown preset, listing the known ones', async () => {
      const config = await writeConfig();
      const out = await unity(['run', 'x', '--config', config, '--root', root, '--domain', 'nope']);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/no domain named "nope" \(known: .*reasoning/);
      expect(cloud.requestsTo('/chat/completions')).toEqual([]);
    });
  });
});

describe('stopMessage', () => {
  const atLimit = (answer: string) =>
    ({ stopReason: 'max_iterations', iterations: 30, answer }) as unknown as Parameters<typeof stopMessage>[0];

  it('says the printed answer is the final one only when there is one', () => {
    expect(stopMessage(atLimit('Done: 3 files.'))).toContain('the answer printed is the model');
    expect(stopMessage(atLimit(''))).toBe(
      'stopped at the iteration limit (30); asked for a final answer without tools, the model gave none',
    );
  });
});

describe("unity run with the seed's convergence settings on a 32k local model", () => {
  /** The seed's values: max_iterations and convergence_warnings at the top level, ollama.max_context 32768. */
  async function seedConfig(extra = ''): Promise<string> {
    const file = join(dir, 'system.yaml');
    await writeFile(
      file,
      [
        'cloud_llm:',
        '  enabled: false # the local model answers: its context is the one the router checks',
        '  provider: "minimax"',
        '  model: "MiniMax-M2"',
        '  fallback_to_local: true',
        '  timeout_seconds: 3600',
        '  max_tokens: 4096',
        '  max_iterations: 1000',
        'models:',
        '  reasoning: "ollama_chat/qwen2.5-coder:7b"',
        '  coding: "ollama_chat/qwen2.5-coder:7b"',
        '  fallback: "ollama_chat/qwen2.5-coder:7b"',
        'ollama:',
        `  host: ${local.host}`,
        '  max_context: 32768',
        'max_iterations: 1000',
        'convergence_warnings:',
        '  - 50',
        '  - 100',
        '  - 200',
        '  - 500',
        'router:',
        '  retries: { max_retries: 0 }',
        extra,
      ].join('\n'),
    );
    return file;
  }

  type OllamaMessage = { role: string; content: string };
  const chats = () => local.requestsTo('/api/chat').map((r) => (r.body as { messages: OllamaMessage[] }).messages);

  beforeEach(async () => {
    // About 6 KB: every read is large, so the conversation outgrows the 32k context within some 20 steps.
    const line = 'a line of a large file, long enough to fill the context quickly.';
    await writeFile(join(root, 'big.txt'), Array.from({ length: 95 }, (_, i) => `${i + 1} ${line}`).join('\n'));
    let n = 0;
    // A model that never stops reading (each call a little different, so it is never stuck) while offered tools.
    local.setDefault((request) =>
      Array.isArray(request.body.tools) && request.body.tools.length > 0
        ? { toolCalls: [{ name: 'read_file', arguments: { path: 'big.txt', limit: 1000 + ++n } }] }
        : { text: 'Final answer: the file has 95 lines.' },
    );
  });

  it('reaches max_iterations (1000) with reminders at 50/100/200/500, compacting instead of overflowing', async () => {
    const config = await seedConfig();
    const out = await unity(['run', 'Read big.txt until you understand it.', '--config', config, '--root', root]);
    expect(out.stderr).not.toMatch(/does not fit|context of \d+ tokens/);
    expect(out.code).toBe(3);
    expect(out.stdout).toBe('Final answer: the file has 95 lines.\n');
    expect(out.stderr).toContain('unity: stopped at the iteration limit (1000)');
    const reminders = [...out.stderr.matchAll(/step (\d+) · [\d.]+s · reminder after (\d+) tool calls/g)];
    expect(reminders.map((m) => [Number(m[1]), Number(m[2])])).toEqual([
      [50, 50],
      [100, 100],
      [200, 200],
      [500, 500],
    ]);
    expect(out.stderr).toMatch(/context compacted: about \d+ → \d+ tokens \(\d+ old messages elided\)/);
    const sent = chats();
    expect(sent).toHaveLength(1000);
    // Each reminder reached the model as the last message of the next call; the 1000th call asks for the answer.
    const endingInUser = sent.flatMap((messages, i) => (i > 0 && messages.at(-1)?.role === 'user' ? [i + 1] : []));
    expect(endingInUser).toEqual([51, 101, 201, 501, 1000]);
    expect(sent.every((messages) => messages[0]?.content === 'Read big.txt until you understand it.')).toBe(true);
  }, 120_000);

  it('stops with the context error long before 1000 steps when compaction is turned off (agent.context: false)', async () => {
    const config = await seedConfig('agent:\n  context: false');
    const out = await unity(['run', 'Read big.txt until you understand it.', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/does not fit ollama_chat\/qwen2\.5-coder:7b's context of 32768 tokens/);
    expect(out.stderr).not.toContain('context compacted');
    expect(chats().length).toBeLessThan(50);
  });

  it('refuses a top-level max_iterations that differs from cloud_llm.max_iterations, naming both and the line', async () => {
    const config = await seedConfig();
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('\nmax_iterations: 1000', '\nmax_iterations: 500'),
    );
    const out = await unity(['run', 'x', '--config', config, '--root', root]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /system\.yaml:16: max_iterations: 500 differs from cloud_llm\.max_iterations: 1000; both set the agent loop's iteration limit/,
    );
    expect(chats()).toEqual([]);
  });
});
