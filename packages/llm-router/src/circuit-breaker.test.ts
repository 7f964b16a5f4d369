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
