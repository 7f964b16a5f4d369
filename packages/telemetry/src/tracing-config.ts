import type { EnvBinding } from '@unity/config';
import { z } from 'zod';

/** Where a collector listens by default (an OpenTelemetry Collector or agent on this machine, OTLP/HTTP). */
export const defaultTracesEndpoint = 'http://127.0.0.1:4318/v1/traces';

/** An HTTP header name (RFC 9110 token). */
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name');

const endpoint = z.string().superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    ctx.addIssue({
      code: 'custom',
      message: `expected the collector's OTLP/HTTP traces URL (http:// or https://), got "${value}"`,
      params: { fix: `set tracing.endpoint to a URL such as ${defaultTracesEndpoint}` },
    });
  }
});

/**
 * The `tracing:` section of the Unity config: OpenTelemetry traces exported over OTLP/HTTP (JSON), off by default.
 * `enabled`, `endpoint` (the collector's full traces URL), `headers` (sent with every export), `headers_env` (header
 * name → the environment variable holding its value, for secrets), `service_name`, `sample_ratio` (0–1, of new
 * traces; a request that arrives with a sampled `traceparent` follows its caller's decision) and `timeout_seconds`
 * (of one export). Give it to the router's `loadConfig({ sections: { tracing: tracingConfigSection } })`.
 */
export const tracingConfigSection = z
  .strictObject({
    enabled: z.boolean().default(false),
    endpoint: endpoint.default(defaultTracesEndpoint),
    headers: z.record(headerName, z.string()).default({}),
    headers_env: z
      .record(
        headerName,
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable (LIKE_THIS)'),
      )
      .default({}),
    service_name: z.string().min(1).default('unity'),
    sample_ratio: z
      .number()
      .superRefine((ratio, ctx) => {
        if (ratio >= 0 && ratio <= 1) return;
        ctx.addIssue({
          code: 'custom',
          message: `expected a share of new traces from 0 to 1, got ${ratio}`,
          params: { fix: 'set tracing.sample_ratio between 0 (no new trace) and 1 (every trace), e.g. 0.1' },
        });
      })
      .default(1),
    timeout_seconds: z.number().positive().default(10),
  })
  .prefault({});

export type TracingConfig = z.output<typeof tracingConfigSection>;

/** The standard OpenTelemetry variables that stand in for `tracing:` settings the file leaves unset. */
export const tracingEnvBindings: readonly EnvBinding[] = [
  { path: ['tracing', 'endpoint'], env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' },
  { path: ['tracing', 'service_name'], env: 'OTEL_SERVICE_NAME' },
];
