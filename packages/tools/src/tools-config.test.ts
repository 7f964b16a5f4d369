import { describe, expect, it } from 'vitest';
import { toolExecutorSettings, toolsConfigSection } from './tools-config';

describe('toolsConfigSection', () => {
  it('defaults to the OS sandbox, no network, and nothing passed through', () => {
    expect(toolExecutorSettings(toolsConfigSection.parse(undefined))).toEqual({
      command: { sandbox: 'bwrap', network: false, envPassthrough: [], readablePaths: [] },
      webSearch: {},
    });
  });

  it('maps every snake_case setting onto the executor’s options', () => {
    const section = toolsConfigSection.parse({
      sandbox: 'none',
      network: true,
      env_passthrough: ['NODE_OPTIONS'],
      readable_paths: ['/opt/toolchain'],
      web_search: { searxng_url: 'http://127.0.0.1:8888', timeout_ms: 500 },
      command_policy: { allow: ['ls'], unknown: 'deny', scrub_env: ['CUSTOM'] },
      memory_file: 'notes/memory.jsonl',
      call_timeout_ms: 5000,
      max_result_chars: 1000,
    });
    expect(toolExecutorSettings(section)).toEqual({
      command: { sandbox: 'none', network: true, envPassthrough: ['NODE_OPTIONS'], readablePaths: ['/opt/toolchain'] },
      webSearch: { searxngUrl: 'http://127.0.0.1:8888', timeoutMs: 500 },
      commandPolicy: { allow: ['ls'], unknown: 'deny', scrubEnv: ['CUSTOM'] },
      memoryFile: 'notes/memory.jsonl',
      callTimeoutMs: 5000,
      maxResultChars: 1000,
    });
  });

  it('refuses an unknown key and a bad value, naming the field', () => {
    expect(toolsConfigSection.safeParse({ commandPolicy: {} }).error?.issues[0]?.code).toBe('unrecognized_keys');
    expect(toolsConfigSection.safeParse({ command_policy: { unknown: 'sometimes' } }).error?.issues[0]?.path).toEqual([
      'command_policy',
      'unknown',
    ]);
  });
});
