import { describe, expect, it } from 'vitest';
import { ollamaBaseUrl } from './host';

describe('ollamaBaseUrl', () => {
  it.each([
    ['http://127.0.0.1:11434', 'http://127.0.0.1:11434'],
    ['http://127.0.0.1:11434/', 'http://127.0.0.1:11434'],
    ['127.0.0.1', 'http://127.0.0.1:11434'],
    ['0.0.0.0:11434', 'http://0.0.0.0:11434'],
    [':8080', 'http://127.0.0.1:8080'],
    ['http://gpu-box', 'http://gpu-box:80'],
    ['https://ollama.example.com', 'https://ollama.example.com:443'],
    ['https://u:pw@proxy.example.com/ollama/', 'https://u:pw@proxy.example.com:443/ollama'],
    ['', 'http://127.0.0.1:11434'],
  ])('%s → %s', (host, base) => {
    expect(ollamaBaseUrl(host)).toBe(base);
  });
});
