import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openVirtualKeys } from './open-virtual-keys';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unity-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the embedded SQLite store', () => {
  it('keeps keys and spend across a restart', async () => {
    const first = openVirtualKeys({ dataDir: dir, prices: { 'openai/m': { input_per_mtok: 1, output_per_mtok: 2 } } });
    const { key, record } = await first.create({ name: 'kept', budgetUsd: 5, rpm: 10, models: ['unity'] });
    const stored = await first.authenticate(key);
    const reservation = await first.admit(stored, {
      model: 'unity',
      chain: ['openai/m'],
      inputTokens: 10,
      outputTokens: 10,
    });
    await first.settle(reservation, { model: 'openai/m', inputTokens: 1_000, outputTokens: 500 });
    await first.close();

    const second = openVirtualKeys({ dataDir: dir });
    expect((await second.authenticate(key)).id).toBe(record.id);
    const [listed] = await second.list();
    expect(listed).toMatchObject({ name: 'kept', budget_usd: 5, rpm: 10, models: ['unity'], spent_usd: 0.002 });
    expect((await second.spend()).rows).toEqual([
      {
        key_id: record.id,
        model: 'openai/m',
        day: expect.any(String),
        requests: 1,
        input_tokens: 1_000,
        output_tokens: 500,
        cost_usd: 0.002,
      },
    ]);
    await second.close();
  });

  it('sees a key revoked by another process at the next lookup', async () => {
    const gateway = openVirtualKeys({ dataDir: dir });
    const cli = openVirtualKeys({ dataDir: dir });
    const { key, record } = await cli.create({ name: 'shared' });
    expect((await gateway.authenticate(key)).id).toBe(record.id);
    await cli.revoke(record.id);
    await expect(gateway.authenticate(key)).rejects.toMatchObject({ code: 'INVALID_API_KEY', status: 401 });
    await Promise.all([gateway.close(), cli.close()]);
  });

  it('stores only the sha256 of a key, never the key', async () => {
    const keys = openVirtualKeys({ dataDir: dir });
    const { key } = await keys.create({ name: 'hashed' });
    await keys.close();
    const { readFile } = await import('node:fs/promises');
    const file = await readFile(join(dir, 'keys.sqlite'));
    expect(file.includes(Buffer.from(key))).toBe(false);
    expect(file.includes(Buffer.from(key.slice(10)))).toBe(false);
  });
});
