import { describe, expect, it } from 'vitest';
import { type Check, type CheckOutcome, overallStatus, runChecks } from './check';

function check(id: string, outcome: CheckOutcome, extra: Partial<Check> = {}): Check {
  return { id, title: id.toUpperCase(), required: true, run: async () => outcome, ...extra };
}

describe('runChecks', () => {
  it('never shows the password of a configured URL in a message or a fix', async () => {
    const [result] = await runChecks([
      check('cloud', {
        status: 'fail',
        message: 'http://user:hunter2pass@vllm.local:8000/v1 is not usable',
        fix: 'check https://tok3n@proxy.local',
      }),
    ]);
    expect(JSON.stringify(result)).not.toMatch(/hunter2pass|tok3n/);
    expect(result?.message).toContain('http://user:[redacted]@vllm.local:8000/v1');
  });

  it('reports a check that throws as a failure with its message', async () => {
    const crashing = check(
      'x',
      { status: 'ok', message: '' },
      {
        run: async () => {
          throw new Error('boom');
        },
      },
    );
    const [result] = await runChecks([crashing]);
    expect(result).toMatchObject({ id: 'x', status: 'fail', message: 'check crashed: boom' });
  });

  it('keeps the order of the checks and carries their identity', async () => {
    const results = await runChecks([
      check('a', { status: 'ok', message: 'fine' }, { provider: 'ollama' }),
      check('b', { status: 'warn', message: 'hm', fix: 'do x' }, { required: false }),
    ]);
    expect(results.map(({ ms: _ms, ...r }) => r)).toEqual([
      { id: 'a', title: 'A', required: true, provider: 'ollama', status: 'ok', message: 'fine' },
      { id: 'b', title: 'B', required: false, status: 'warn', message: 'hm', fix: 'do x' },
    ]);
  });

  it('skips a check whose dependency failed, naming the root cause, without running it', async () => {
    let ran = false;
    const results = await runChecks([
      check('server', { status: 'fail', message: 'down' }),
      check(
        'model',
        { status: 'ok', message: '' },
        {
          dependsOn: ['server'],
          run: async () => {
            ran = true;
            return { status: 'ok', message: '' };
          },
        },
      ),
      check('capabilities', { status: 'ok', message: '' }, { dependsOn: ['model'] }),
    ]);
    expect(results.map((r) => [r.status, r.message])).toEqual([
      ['fail', 'down'],
      ['skip', 'not checked: SERVER failed'],
      ['skip', 'not checked: SERVER failed'],
    ]);
    expect(ran).toBe(false);
  });

  it('runs a check whose dependency only warned', async () => {
    const results = await runChecks([
      check('server', { status: 'warn', message: 'slow' }),
      check('model', { status: 'ok', message: 'ok' }, { dependsOn: ['server'] }),
    ]);
    expect(results[1]?.status).toBe('ok');
  });

  it('does not start checks once the signal is aborted', async () => {
    let ran = false;
    const controller = new AbortController();
    controller.abort();
    const results = await runChecks(
      [
        check(
          'a',
          { status: 'ok', message: '' },
          {
            run: async () => {
              ran = true;
              return { status: 'ok', message: '' };
            },
          },
        ),
      ],
      controller.signal,
    );
    expect(results[0]).toMatchObject({ status: 'skip', message: 'not checked: aborted' });
    expect(ran).toBe(false);
  });

  it('refuses a dependency that is not listed before the check', async () => {
    await expect(runChecks([check('a', { status: 'ok', message: '' }, { dependsOn: ['b'] })])).rejects.toThrow(
      'check "a" depends on "b", which is not listed before it',
    );
  });
});

describe('overallStatus', () => {
  const result = (status: 'ok' | 'warn' | 'fail' | 'skip', required = true) => ({
    id: status,
    title: status,
    status,
    message: '',
    required,
    ms: 0,
  });

  it('fails on a required failure', () => {
    expect(overallStatus([result('ok'), result('fail')])).toBe('fail');
  });

  it('only warns on an optional failure', () => {
    expect(overallStatus([result('ok'), result('fail', false)])).toBe('warn');
  });

  it('does not count skipped checks', () => {
    expect(overallStatus([result('ok'), result('skip')])).toBe('ok');
  });
});
