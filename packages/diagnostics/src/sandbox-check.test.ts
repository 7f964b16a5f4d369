import { describe, expect, it } from 'vitest';
import { runChecks } from './check';
import { sandboxCheck } from './sandbox-check';

describe('sandboxCheck', () => {
  it('passes where bubblewrap can create the sandbox, naming its version', async () => {
    const [result] = await runChecks([sandboxCheck({ mode: 'bwrap' })]);
    expect(result).toMatchObject({ id: 'os-sandbox', status: 'ok', required: false });
    expect(result?.message).toMatch(/^bubblewrap \d+\.\d+.*confined/);
  });

  it('fails with the install fix where bubblewrap is missing', async () => {
    const [result] = await runChecks([sandboxCheck({ mode: 'bwrap', bwrapPath: '/nonexistent/bwrap' })]);
    expect(result).toMatchObject({ status: 'fail' });
    expect(result?.fix).toMatch(/apt-get install bubblewrap/);
  });

  it('warns that commands run unconfined when the config says sandbox: none', async () => {
    const [result] = await runChecks([sandboxCheck({ mode: 'none', bwrapPath: '/nonexistent/bwrap' })]);
    expect(result).toMatchObject({ status: 'warn' });
    expect(result?.message).toMatch(/unconfined/);
  });
});
