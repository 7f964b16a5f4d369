// The run-report ingest endpoint under attack (issue 16, "Runs on the dashboard"): callers without a key or with a
// wrong one, a virtual key reading the runs or writing into another key's run, malformed, oversized, deeply nested
// and mistyped bodies, forged event types, a flood of runs, and a secret in a report. Each runs against a real gateway
// on 127.0.0.1 over real sockets (the real router, the test kit's fake upstreams), its keys in a temp folder.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RunningServer, startServer } from '@unity/gateway';
import { FakeOllama, FakeOpenAI, gatewayConfigYaml } from '@unity/test-kit';
import { WebSocket } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const master = 'attack-master-key-runs';
let cloud: FakeOpenAI;
let local: FakeOllama;
let server: RunningServer;
let dir: string;
let url: string;

beforeAll(async () => {
  cloud = await FakeOpenAI.start();
  local = await FakeOllama.start();
  dir = await mkdtemp(path.join(tmpdir(), 'unity-runs-attack-'));
  const configPath = path.join(dir, 'system.yaml');
  await writeFile(
    configPath,
    gatewayConfigYaml({
      cloudBaseUrl: cloud.baseURL,
      ollamaHost: local.host,
      server: { api_key: master, data_dir: path.join(dir, 'data') },
    }),
  );
  server = await startServer({ configPath, port: 0, env: { TEST_CLOUD_KEY: 'sk-attack' } });
  url = server.address;
});
afterAll(async () => {
  await server.shutdown({ drainTimeoutMs: 1_000 });
  await Promise.all([cloud.close(), local.close(), rm(dir, { recursive: true, force: true })]);
});

async function createKey(name: string): Promise<string> {
  const response = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

const generation = (seq: number) => ({ type: 'generation', seq, elapsedMs: seq, generation: seq + 1, offspring: 1 });
const validBatch = (events: object[] = [generation(0)]) => ({ kind: 'evolution', title: 'target.mjs', events });

/** `key` null: no key at all. */
function post(id: string, body: unknown, key: string | null = master, raw = false) {
  return fetch(`${url}/api/runs/${id}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: raw ? String(body) : JSON.stringify(body),
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

const runsList = async (key = master) =>
  (await (await fetch(`${url}/api/runs`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    runs: Array<{ id: string; title?: string; reporter: string; events: number }>;
  };

describe('the run ingest endpoint under attack', () => {
  it('refuses a caller without a key or with a wrong one, keeping nothing', async () => {
    const none = await post('no-key', validBatch(), null);
    expect(none.status).toBe(401);
    expect(await errorOf(none)).toContain('this gateway requires an API key');
    expect((await post('wrong-key', validBatch(), 'not-the-master-key')).status).toBe(401);
    expect((await post('forged-virtual', validBatch(), `uk-${'A'.repeat(43)}`)).status).toBe(401);
    for (const read of [`${url}/api/runs`, `${url}/api/runs/no-key`]) expect((await fetch(read)).status).toBe(401);
    const ids = (await runsList()).runs.map((run) => run.id);
    expect(ids).not.toContain('no-key');
    expect(ids).not.toContain('wrong-key');
  });

  it('lets a virtual key report a run but not read the runs, nor write into another key’s run', async () => {
    const ci = await createKey('ci-runner');
    const other = await createKey('someone-else');
    expect((await post('ci-run', validBatch(), ci)).status).toBe(200);
    expect((await fetch(`${url}/api/runs`, { headers: { authorization: `Bearer ${ci}` } })).status).toBe(403);
    expect((await fetch(`${url}/api/runs/ci-run`, { headers: { authorization: `Bearer ${ci}` } })).status).toBe(403);

    const hijack = await post('ci-run', validBatch([generation(1)]), other);
    expect(hijack.status).toBe(403);
    expect(await errorOf(hijack)).toContain('run ci-run is reported by another key');
    expect((await post('ci-run', validBatch([generation(1)]), master)).status).toBe(403);
    const run = (await runsList()).runs.find((r) => r.id === 'ci-run');
    expect(run).toMatchObject({ reporter: 'ci-runner', events: 1 });
  });

  it('refuses malformed bodies with 400 naming the field, and keeps nothing of them', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['no kind', { events: [generation(0)] }, 'kind'],
      ['an unknown kind', { kind: 'shell', events: [generation(0)] }, 'kind'],
      ['no events', { kind: 'evolution', events: [] }, 'events'],
      ['an unknown event type', validBatch([{ ...generation(0), type: 'request.end' }]), 'events.0.type'],
      ['a field of the wrong type', validBatch([{ ...generation(0), generation: 'one' }]), 'events.0.generation'],
      ['a negative seq', validBatch([{ ...generation(0), seq: -1 }]), 'events.0.seq'],
      ['an unknown field', validBatch([{ ...generation(0), status: 200 }]), 'events.0'],
      ['a field of the agent kind', { kind: 'agent', events: [generation(0)] }, 'events.0.type'],
      [
        'a name over 200 characters',
        { kind: 'evolution', events: [{ type: 'stop', seq: 0, elapsedMs: 0, stopReason: 'x'.repeat(201) }] },
        'events.0.stopReason',
      ],
      [
        'a text over 2000 characters',
        {
          kind: 'agent',
          events: [
            { type: 'tool-call', seq: 0, elapsedMs: 0, iteration: 1, id: 'c', name: 'n', arguments: 'a'.repeat(2001) },
          ],
        },
        'events.0.arguments',
      ],
      ['201 events in one batch', validBatch(Array.from({ length: 201 }, (_, i) => generation(i))), 'events'],
      ['a title over 200 characters', { ...validBatch(), title: 't'.repeat(201) }, 'title'],
      ['an array body', [validBatch()], '(body)'],
    ];
    for (const [what, body, field] of cases) {
      const response = await post('malformed', body);
      expect(response.status, what).toBe(400);
      expect(await errorOf(response), what).toContain(`${field}:`);
    }
    const notJson = await post('malformed', '{"kind": "evolution", "events": [', master, true);
    expect(notJson.status).toBe(400);
    expect(await errorOf(notJson)).toContain('not valid JSON');
    expect((await runsList()).runs.map((r) => r.id)).not.toContain('malformed');
  });

  it('refuses a run id that is not one, a body over the limit and JSON nested past the depth limit', async () => {
    const badId = await post('a%20b', validBatch());
    expect(badId.status).toBe(400);
    expect(await errorOf(badId)).toContain('is not a run id');
    expect((await post('.hidden', validBatch())).status).toBe(400);
    // Longer than a run id may be, and than Fastify takes a path parameter (414 URI Too Long).
    expect((await post('x'.repeat(101), validBatch())).status).toBe(414);

    const huge = await post('huge', { ...validBatch(), padding: 'x'.repeat(1_100_000) });
    expect(huge.status).toBe(413);
    const deep = await post('deep', `${'['.repeat(100)}${']'.repeat(100)}`, master, true);
    expect(deep.status).toBe(400);
    expect(await errorOf(deep)).toContain('deeper than');
  });

  it('refuses a batch of another kind than its run with 409', async () => {
    expect((await post('kinded', validBatch())).status).toBe(200);
    const agent = {
      kind: 'agent',
      events: [{ type: 'final-request', seq: 1, elapsedMs: 1, iteration: 1, toolCalls: 0 }],
    };
    const response = await post('kinded', agent);
    expect(response.status).toBe(409);
    expect(await errorOf(response)).toContain('is an evolution run');
  });

  it('cannot forge the gateway’s own events: reports reach /ws as run.* only and never push /audit out', async () => {
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'unity', messages: [{ role: 'user', content: 'audit me' }] }),
    });
    expect(chat.status).toBe(200);
    const audited = async () =>
      (
        (await (await fetch(`${url}/audit`, { headers: { authorization: `Bearer ${master}` } })).json()) as {
          requests: unknown[];
        }
      ).requests.length;
    const before = await audited();
    expect(before).toBeGreaterThan(0);

    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws?api_key=${master}`);
    const types: string[] = [];
    let backlogDone = false;
    socket.onmessage = (message) => {
      if (backlogDone) types.push(String(JSON.parse(String(message.data)).type));
    };
    await new Promise<void>((resolve) => {
      socket.onopen = () => resolve();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    backlogDone = true;
    for (let batch = 0; batch < 6; batch++) {
      const events = Array.from({ length: 200 }, (_, i) => generation(batch * 200 + i));
      expect((await post('flood', validBatch(events))).status).toBe(200);
    }
    await expect.poll(() => types.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1206);
    socket.close();
    expect(types.every((type) => type.startsWith('run.'))).toBe(true);
    expect(await audited()).toBe(before);
  });

  it('keeps a bounded number of runs however many one key reports, without pushing out the other keys’ runs', async () => {
    const before = (await runsList()).runs;
    for (let i = 0; i < 70; i++) expect((await post(`many-${i}`, validBatch())).status).toBe(200);
    const { runs } = await runsList();
    const flooded = runs.filter((run) => run.id.startsWith('many-'));
    expect(flooded).toHaveLength(20);
    expect(flooded[0]?.id).toBe('many-69');
    // The flooding key's own older runs may go; another key's never do.
    const othersOf = (list: typeof runs) =>
      list.filter((run) => run.reporter !== flooded[0]?.reporter).map((run) => run.id);
    expect(othersOf(before).length).toBeGreaterThan(0);
    expect(othersOf(runs)).toEqual(othersOf(before));
  });

  it('never shows the master key written into a report, on /api/runs or on /ws', async () => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/ws?api_key=${master}`);
    const frames: string[] = [];
    socket.onmessage = (message) => frames.push(String(message.data));
    await new Promise<void>((resolve) => {
      socket.onopen = () => resolve();
    });
    const leaky = {
      kind: 'agent',
      title: `deploy with ${master}`,
      events: [
        {
          type: 'tool-call',
          seq: 0,
          elapsedMs: 0,
          iteration: 1,
          id: 'c1',
          name: 'run',
          arguments: `{"key":"${master}"}`,
        },
      ],
    };
    expect((await post('leaky', leaky)).status).toBe(200);
    await expect.poll(() => frames.some((f) => f.includes('"run.update"') && f.includes('leaky'))).toBe(true);
    socket.close();
    const listed = await (
      await fetch(`${url}/api/runs/leaky`, { headers: { authorization: `Bearer ${master}` } })
    ).text();
    expect(listed).toContain('deploy with');
    expect(listed).not.toContain(master);
    expect(frames.filter((f) => f.includes('leaky')).every((f) => !f.includes(master))).toBe(true);
  });
});
