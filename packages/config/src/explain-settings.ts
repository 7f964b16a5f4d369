import { redactUrl } from '@unity/core';
import type { LoadedSettings, SettingOrigin } from './load-settings';

/** One effective setting: its dotted path, its value (secrets masked), and where it came from. */
export interface ExplainedSetting {
  path: string;
  value: unknown;
  origin: SettingOrigin;
}

const secretKey = /(^|_)(api_?key|key|token|secret|password|passwd|credentials?)$/i;

/**
 * Every leaf of the effective settings (lists count as one value), in the file's order, each with its origin; values
 * under secret-looking names (`api_key`, `*_token`, `password` …) are masked and URL credentials redacted.
 */
export function explainSettings(loaded: LoadedSettings<object>): ExplainedSetting[] {
  const out: ExplainedSetting[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
      return;
    }
    out.push({ path: path.join('.'), value: mask(path.at(-1) ?? '', value), origin: loaded.originOf(path) });
  };
  walk(loaded.config, []);
  return out;
}

function mask(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (secretKey.test(key)) return value === '' ? value : '********';
  return redactUrl(value);
}

/** `default`, `configs/system.yaml:12`, `env OLLAMA_HOST`. */
export function describeOrigin(origin: SettingOrigin): string {
  switch (origin.kind) {
    case 'default':
      return 'default';
    case 'file':
      return origin.line === undefined ? origin.file : `${origin.file}:${origin.line}`;
    case 'env':
      return `env ${origin.name}`;
  }
}
