import { describe, expect, it } from 'vitest';
import { type BreakerChange, CircuitBreaker } from './circuit-breaker';

function setup(threshold = 3, cooldownMs = 1_000) {
  let clock = 0;
  const changes: BreakerChange[] = [];
  const breaker = new CircuitBreaker('ollama', {
    failureThreshold: threshold,
    cooldownMs,
    now: () => clock,
    onChange: (change) => changes.push(change),
  });
  return { breaker, changes, advance: (ms: number) => (clock += ms) };
}

const fail = (breaker: CircuitBreaker) => breaker.tryAcquire()!.failure();

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures and refuses requests while open', () => {
    const { breaker, changes } = setup(3);
    fail(breaker);
    fail(breaker);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.canAdmit()).toBe(false);
    expect(changes).toEqual([{ provider: 'ollama', from: 'closed', to: 'open', reason: 'failures', until: 1_000 }]);
  });

  it('resets the failure count on a success', () => {
    const { breaker } = setup(2);
    fail(breaker);
    breaker.tryAcquire()!.success();
    fail(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('admits exactly one probe after the cooldown and refuses the others meanwhile', () => {
    const { breaker, advance } = setup(1, 1_000);
    fail(breaker);
    advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    advance(1);
    expect(breaker.canAdmit()).toBe(true);
    const probe = breaker.tryAcquire();
    expect(probe?.probe).toBe(true);
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.canAdmit()).toBe(false);
  });

  it('closes when the probe succeeds', () => {
    const { breaker, advance, changes } = setup(1);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire()!.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()?.probe).toBe(false);
    expect(changes.map((c) => `${c.to}:${c.reason}`)).toEqual([
      'open:failures',
      'half-open:probe',
      'closed:probe-succeeded',
    ]);
  });

  it('re-opens for another cooldown when the probe fails', () => {
    const { breaker, advance } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire()!.failure();
    expect(breaker.state).toBe('open');
    advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it('hands the probe slot back when the probe ends without a verdict', () => {
    const { breaker, advance } = setup(1);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire()!.release();
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it('cools down for a Retry-After without reaching the threshold', () => {
    const { breaker, advance, changes } = setup(5);
    breaker.coolDown(2_000);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAt).toBe(2_000);
    advance(1_999);
    expect(breaker.canAdmit()).toBe(false);
    advance(1);
    expect(breaker.tryAcquire()?.probe).toBe(true);
    expect(changes[0]).toMatchObject({ to: 'open', reason: 'retry-after', until: 2_000 });
  });

  it('counts each permit once however often it is settled', () => {
    const { breaker } = setup(2);
    const permit = breaker.tryAcquire()!;
    permit.failure();
    permit.failure();
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker: Retry-After and late results', () => {
  it('reports no retry time while closed, and the end of the cooldown while open or half-open', () => {
    const { breaker, advance } = setup(1, 1_000);
    expect(breaker.retryAt).toBe(0);
    fail(breaker);
    expect(breaker.retryAt).toBe(1_000);
    advance(1_000);
    breaker.tryAcquire();
    expect(breaker.state).toBe('half-open');
    expect(breaker.retryAt).toBe(1_000);
  });

  it('keeps a longer open period when a shorter Retry-After arrives', () => {
    const { breaker, advance, changes } = setup(5);
    breaker.coolDown(5_000);
    breaker.coolDown(1_000);
    expect(breaker.retryAt).toBe(5_000);
    expect(changes).toHaveLength(1);
    advance(4_999);
    expect(breaker.canAdmit()).toBe(false);
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it('names a cool-down that another router announced', () => {
    const { breaker, changes } = setup(5);
    breaker.coolDown(2_000, 'shared');
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([{ provider: 'ollama', from: 'closed', to: 'open', reason: 'shared', until: 2_000 }]);
  });

  it('keeps the open period when a Retry-After ends at the same moment', () => {
    const { breaker, changes } = setup(5);
    breaker.coolDown(2_000);
    breaker.coolDown(2_000);
    expect(changes).toHaveLength(1);
  });

  it('extends the open period for a longer Retry-After', () => {
    const { breaker, advance, changes } = setup(5);
    breaker.coolDown(1_000);
    breaker.coolDown(3_000);
    expect(breaker.retryAt).toBe(3_000);
    advance(2_000);
    expect(breaker.canAdmit()).toBe(false);
    expect(changes.map((c) => c.until)).toEqual([1_000, 3_000]);
  });

  it('re-opens from half-open on a Retry-After, taking the probe slot back', () => {
    const { breaker, advance, changes } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    const probe = breaker.tryAcquire()!;
    expect(probe.probe).toBe(true);
    breaker.coolDown(500);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAt).toBe(1_500);
    expect(changes.at(-1)).toMatchObject({ from: 'half-open', to: 'open', reason: 'retry-after', until: 1_500 });
    // The old probe's late success does not close the circuit that re-opened meanwhile.
    probe.success();
    expect(breaker.state).toBe('open');
    advance(500);
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it('ignores a late success of a permit taken while closed once the circuit has opened', () => {
    const { breaker } = setup(1, 1_000);
    const early = breaker.tryAcquire()!;
    fail(breaker);
    expect(breaker.state).toBe('open');
    early.success();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBeUndefined();
  });

  it('ignores a late failure of a permit taken while closed once the circuit has opened', () => {
    const { breaker, advance, changes } = setup(1, 1_000);
    const early = breaker.tryAcquire()!;
    fail(breaker);
    advance(600);
    early.failure();
    // Not counted again: the open period still ends at 1 000, not 1 600.
    expect(changes).toHaveLength(1);
    advance(400);
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it('ignores a late result of a closed-state permit while the probe is in flight', () => {
    const { breaker, advance } = setup(1, 1_000);
    const early = breaker.tryAcquire()!;
    fail(breaker);
    advance(1_000);
    const probe = breaker.tryAcquire()!;
    early.failure();
    expect(breaker.state).toBe('half-open');
    early.success();
    expect(breaker.state).toBe('half-open');
    // The probe's slot is still taken: a late non-probe result does not free it.
    expect(breaker.tryAcquire()).toBeUndefined();
    probe.success();
    expect(breaker.state).toBe('closed');
  });

  it('gives non-probe permits while closed, and counts failures only up to the threshold', () => {
    const { breaker, changes } = setup(2, 1_000);
    const permit = breaker.tryAcquire()!;
    expect(permit.probe).toBe(false);
    permit.failure();
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual([]);
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('starts counting afresh after it closed again', () => {
    const { breaker, advance } = setup(2, 1_000);
    fail(breaker);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire()!.success();
    fail(breaker);
    expect(breaker.state).toBe('closed');
    fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('re-opens a failed probe for the cooldown from the moment it failed', () => {
    const { breaker, advance, changes } = setup(1, 1_000);
    fail(breaker);
    advance(1_200);
    const probe = breaker.tryAcquire()!;
    advance(300);
    probe.failure();
    expect(changes.at(-1)).toEqual({
      provider: 'ollama',
      from: 'half-open',
      to: 'open',
      reason: 'probe-failed',
      until: 2_500,
    });
    advance(999);
    expect(breaker.canAdmit()).toBe(false);
    advance(1);
    expect(breaker.canAdmit()).toBe(true);
  });

  it('admits while closed, and again after a released probe', () => {
    const { breaker, advance } = setup(1, 1_000);
    expect(breaker.canAdmit()).toBe(true);
    fail(breaker);
    advance(1_000);
    const probe = breaker.tryAcquire()!;
    expect(breaker.canAdmit()).toBe(false);
    probe.release();
    expect(breaker.canAdmit()).toBe(true);
    expect(breaker.state).toBe('half-open');
  });

  it('reports no retry time again once a probe closed the circuit', () => {
    const { breaker, advance, changes } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire()!.success();
    expect(breaker.retryAt).toBe(0);
    expect(changes.slice(1)).toEqual([
      { provider: 'ollama', from: 'open', to: 'half-open', reason: 'probe' },
      { provider: 'ollama', from: 'half-open', to: 'closed', reason: 'probe-succeeded' },
    ]);
  });

  it('does not announce half-open again while its probe is in flight', () => {
    const { breaker, advance, changes } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire();
    const seen = changes.length;
    expect(breaker.tryAcquire()).toBeUndefined();
    advance(5_000);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(changes).toHaveLength(seen);
  });

  it('ignores the late failure of a probe whose circuit a Retry-After re-opened', () => {
    const { breaker, advance, changes } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    const probe = breaker.tryAcquire()!;
    breaker.coolDown(200);
    const seen = changes.length;
    advance(100);
    probe.failure();
    expect(changes).toHaveLength(seen);
    expect(breaker.retryAt).toBe(1_200);
  });

  it('admits a new probe after a Retry-After re-opened it, even if the old probe never reports', () => {
    const { breaker, advance } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    expect(breaker.tryAcquire()?.probe).toBe(true);
    breaker.coolDown(300);
    advance(300);
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it('re-opens at once for a zero Retry-After taken while half-open', () => {
    const { breaker, advance } = setup(1, 1_000);
    fail(breaker);
    advance(1_000);
    breaker.tryAcquire();
    breaker.coolDown(0);
    expect(breaker.state).toBe('open');
  });

  it('uses the real clock by default', () => {
    const breaker = new CircuitBreaker('cloud', { failureThreshold: 1, cooldownMs: 60_000 });
    const before = Date.now();
    breaker.tryAcquire()!.failure();
    expect(breaker.retryAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(breaker.retryAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(breaker.canAdmit()).toBe(false);
  });
});
