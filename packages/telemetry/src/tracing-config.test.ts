import { ConfigError, settingsFromText } from '@unity/config';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultTracesEndpoint, tracingConfigSection, tracingEnvBindings } from './tracing-config';

const schema = z.looseObject({ tracing: tracingConfigSection });
const parse = (yaml: string, env: Record<string, string> = {}) =>
  settingsFromText(yaml, 'configs/system.yaml', { schema, env, envBindings: tracingEnvBindings }).config.tracing;

function configError(yaml: string): ConfigError {
  try {
    parse(yaml);
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('tracingConfigSection', () => {
  it('is off by default, aimed at a local collector, sampling every trace', () => {
    expect(parse('')).toEqual({
      enabled: false,
      endpoint: defaultTracesEndpoint,
      headers: {},
      headers_env: {},
      service_name: 'unity',
      sample_ratio: 1,
      timeout_seconds: 10,
    });
  });

  it('reads every setting of the section', () => {
    const yaml = [
      'tracing:',
      '  enabled: true',
      '  endpoint: https://otel.example.com/v1/traces',
      '  headers: { x-team: llm }',
      '  headers_env: { authorization: OTEL_AUTH }',
      '  service_name: unity-gateway',
      '  sample_ratio: 0.25',
      '  timeout_seconds: 3',
    ].join('\n');
    expect(parse(yaml)).toEqual({
      enabled: true,
      endpoint: 'https://otel.example.com/v1/traces',
      headers: { 'x-team': 'llm' },
      headers_env: { authorization: 'OTEL_AUTH' },
      service_name: 'unity-gateway',
      sample_ratio: 0.25,
      timeout_seconds: 3,
    });
  });

  it('takes the endpoint and service name from the standard OTEL_ variables when the file leaves them unset', () => {
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces', OTEL_SERVICE_NAME: 'svc' };
    expect(parse('tracing:\n  enabled: true\n', env)).toMatchObject({
      endpoint: 'http://collector:4318/v1/traces',
      service_name: 'svc',
    });
    expect(parse('tracing:\n  service_name: from-file\n', env).service_name).toBe('from-file');
  });

  it('refuses an unknown key with its line and the known keys', () => {
    const error = configError('tracing:\n  enabled: true\n  sample_rate: 0.5\n');
    expect(error.message).toBe('configs/system.yaml:3: tracing: unknown key sample_rate');
    expect(error.fix).toMatch(/known keys: enabled, endpoint, headers, headers_env, service_name, sample_ratio/);
  });

  it('refuses an endpoint that is not an http(s) URL, with the fix', () => {
    const error = configError('tracing:\n  endpoint: collector:4318\n');
    expect(error.message).toBe(
      'configs/system.yaml:2: tracing.endpoint: expected the collector\'s OTLP/HTTP traces URL (http:// or https://), got "collector:4318"',
    );
    expect(error.fix).toBe(`set tracing.endpoint to a URL such as ${defaultTracesEndpoint}`);
  });

  it('refuses a sample ratio outside 0–1, with the fix', () => {
    const error = configError('tracing:\n  sample_ratio: 10\n');
    expect(error.message).toBe(
      'configs/system.yaml:2: tracing.sample_ratio: expected a share of new traces from 0 to 1, got 10',
    );
    expect(error.fix).toMatch(/^set tracing.sample_ratio between 0/);
  });

  it('refuses a header whose value names no environment variable', () => {
    const error = configError('tracing:\n  headers_env: { authorization: "my secret" }\n');
    expect(error.message).toMatch(
      /^configs\/system.yaml:2: tracing.headers_env.authorization: expected the name of an environment variable/,
    );
  });
});
