import { describe, expect, it } from 'vitest';
import { nodeVersionCheck } from './node-version-check';

describe('nodeVersionCheck', () => {
  it('accepts 20.10 and newer', async () => {
    expect((await nodeVersionCheck('20.10.0').run()).status).toBe('ok');
    expect((await nodeVersionCheck('22.1.0').run()).status).toBe('ok');
  });

  it('fails older versions and names the fix', async () => {
    expect(await nodeVersionCheck('20.9.0').run()).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('nvm'),
    });
  });
});
