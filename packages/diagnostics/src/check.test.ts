import { describe, expect, it } from 'vitest';
import { type Check, nodeVersionCheck, overallStatus, runChecks } from './check';

describe('runChecks', () => {
  it('reports a check that throws as a failure with its message', async () => {
    const crashing: Check = {
      id: 'x',
      title: 'X',
      required: true,
      run: async () => {
        throw new Error('boom');
      },
    };
    const [result] = await runChecks([crashing]);
    expect(result).toMatchObject({ id: 'x', status: 'fail', message: 'check crashed: boom' });
  });
});

describe('overallStatus', () => {
  it('fails only on required failures; optional failures warn', async () => {
    const results = await runChecks([nodeVersionCheck('18.19.0')]);
    expect(overallStatus(results)).toBe('fail');
    expect(overallStatus(results.map((r) => ({ ...r, required: false })))).toBe('warn');
  });
});

describe('nodeVersionCheck', () => {
  it('accepts 20.10+ and names the fix for older versions', async () => {
    expect((await nodeVersionCheck('20.20.2').run()).status).toBe('ok');
    expect(await nodeVersionCheck('20.9.0').run()).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('nvm'),
    });
  });
});
