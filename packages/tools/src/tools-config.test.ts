import { describe, expect, it } from 'vitest';
import { parseToolsConfig } from './tools-config';

describe('parseToolsConfig', () => {
  it('reads the tool settings', () => {
    const text = JSON.stringify({
      commandPolicy: { allow: ['ls'], unknown: 'deny' },
      webSearch: { searxngUrl: 'http://127.0.0.1:8888' },
      callTimeoutMs: 5000,
    });
    expect(parseToolsConfig(text, 'tools.json')).toEqual({
      commandPolicy: { allow: ['ls'], unknown: 'deny' },
      webSearch: { searxngUrl: 'http://127.0.0.1:8888' },
      callTimeoutMs: 5000,
    });
  });

  it('names the file and the field of an invalid value', () => {
    expect(() => parseToolsConfig('{"callTimeoutMs":"ten"}', 'tools.json')).toThrow(
      /tools\.json: invalid tools configuration: callTimeoutMs:/,
    );
  });

  it('refuses a secret in the file: keys come from the environment', () => {
    expect(() => parseToolsConfig('{"webSearch":{"braveApiKey":"k"}}', 'tools.json')).toThrow(
      /webSearch: Unrecognized key: "braveApiKey"/,
    );
  });

  it('names the file of malformed JSON', () => {
    expect(() => parseToolsConfig('{', 'tools.json')).toThrow(/tools\.json: not valid JSON/);
  });
});
