// startServer's own duties, on the test harness (the test kit's fakes in front of the providers): what a failed start
// leaves behind, and which secrets the gateway never repeats.
import { propagation } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startHarness } from './__tests__/test-harness';

describe('startServer', () => {
  it('closes what it opened when a later step fails: no tracing globals are left registered', async () => {
    expect(propagation.fields()).toEqual([]);
    // The key store cannot be opened under a file: the start fails after tracing registered its globals.
    const failed = startHarness({
      extraYaml: 'tracing:\n  enabled: true\n  endpoint: http://127.0.0.1:9/v1/traces\n',
      server: { data_dir: '/dev/null/data' },
    });
    await expect(failed).rejects.toThrow(/dev\/null/);
    expect(propagation.fields()).toEqual([]);
  });

  it("redacts the trace collector's headers (tracing.headers, tracing.headers_env) from the live events", async () => {
    const h = await startHarness({
      env: { COLLECTOR_KEY: 'env-collector-key-5678' },
      extraYaml: [
        'tracing:',
        '  enabled: false',
        '  headers:',
        '    authorization: Bearer collector-token-1234',
        '  headers_env:',
        '    x-team-key: COLLECTOR_KEY',
        '',
      ].join('\n'),
    });
    try {
      h.server.gateway.bus.publish('test.leak', {
        message: 'export refused with collector-token-1234 and env-collector-key-5678',
      });
      const [event] = h.server.gateway.bus.recent(1);
      expect(event?.message).toBe('export refused with [redacted] and [redacted]');
    } finally {
      await h.close();
    }
  });
});
