import type { EnvBinding } from '@unity/config';
import type { OsSandboxMode } from '@unity/core';
import { z } from 'zod';
import type { ToolExecutorOptions } from './tool-executor';
import type { WebSearchOptions } from './web/web-search';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/**
 * The `tools:` section of the Unity config (`configs/system.yaml`): how commands a model runs (`execute_command`) and
 * evolution candidates' evaluators are confined. Give it to the router's `loadConfig({ sections: { tools:
 * toolsConfigSection } })` so its errors name the file, line and field.
 * - `sandbox`: `bwrap` (default; the OS sandbox, refused where it cannot run) or `none` (unconfined, at your risk).
 * - `network`: let commands reach the network (default false).
 * - `env_passthrough`: variable names passed to commands besides PATH, LANG, LC_*, TERM, TZ.
 * - `readable_paths`: host folders commands may read besides the system's (a toolchain outside /usr).
 * - `web_search`: `searxng_url` (else `SEARXNG_URL`), `brave_api_key` (else `BRAVE_API_KEY`), `brave_base_url`,
 *   `timeout_ms`.
 * - `command_policy`: `allow`, `deny`, `unknown` (`approve` | `deny`), `scrub_env` — see `CommandPolicyOptions`.
 * - `memory_file`, `call_timeout_ms`, `max_result_chars`: as `createToolExecutor`'s options.
 */
export const toolsConfigSection = z
  .strictObject({
    sandbox: z.enum(['bwrap', 'none']).default('bwrap'),
    network: z.boolean().default(false),
    env_passthrough: z.array(envName).default([]),
    readable_paths: z.array(z.string().min(1)).default([]),
    /** `web_search`'s provider: SearXNG (tried first) or Brave; the key is best left to `BRAVE_API_KEY`. */
    web_search: z
      .strictObject({
        searxng_url: z.url().optional(),
        brave_api_key: z.string().min(1).optional(),
        brave_base_url: z.url().optional(),
        timeout_ms: z.number().int().positive().optional(),
      })
      .prefault({}),
    command_policy: z
      .strictObject({
        allow: z.array(z.string().min(1)).optional(),
        deny: z.array(z.string().min(1)).optional(),
        unknown: z.enum(['approve', 'deny']).optional(),
        scrub_env: z.array(envName).optional(),
      })
      .optional(),
    memory_file: z.string().min(1).optional(),
    call_timeout_ms: z.number().int().positive().optional(),
    max_result_chars: z.number().int().positive().optional(),
  })
  .prefault({});

/** The whole `tools:` section as `createToolExecutor`'s options (all but `root` and the host's environment). */
export function toolExecutorSettings(
  section: ToolsConfigSection,
): Omit<ToolExecutorOptions, 'root' | 'command'> & { command: SandboxSettings } {
  const policy = section.command_policy;
  return {
    command: sandboxSettings(section),
    webSearch: webSearchSettings(section),
    ...(policy
      ? {
          commandPolicy: {
            ...(policy.allow ? { allow: policy.allow } : {}),
            ...(policy.deny ? { deny: policy.deny } : {}),
            ...(policy.unknown ? { unknown: policy.unknown } : {}),
            ...(policy.scrub_env ? { scrubEnv: policy.scrub_env } : {}),
          },
        }
      : {}),
    ...(section.memory_file ? { memoryFile: section.memory_file } : {}),
    ...(section.call_timeout_ms ? { callTimeoutMs: section.call_timeout_ms } : {}),
    ...(section.max_result_chars ? { maxResultChars: section.max_result_chars } : {}),
  };
}

/** The tools' settings the environment gives when the file leaves them unset (read once, by the settings layer). */
export const toolsEnvBindings: readonly EnvBinding[] = [
  { path: ['tools', 'web_search', 'searxng_url'], env: 'SEARXNG_URL' },
  { path: ['tools', 'web_search', 'brave_api_key'], env: 'BRAVE_API_KEY' },
];

/** The `tools.web_search` settings as `web_search`'s options. */
export function webSearchSettings(section: ToolsConfigSection): WebSearchOptions {
  const web = section.web_search;
  return {
    ...(web.searxng_url ? { searxngUrl: web.searxng_url } : {}),
    ...(web.brave_api_key ? { braveApiKey: web.brave_api_key } : {}),
    ...(web.brave_base_url ? { braveBaseUrl: web.brave_base_url } : {}),
    ...(web.timeout_ms ? { timeoutMs: web.timeout_ms } : {}),
  };
}

export type ToolsConfigSection = z.output<typeof toolsConfigSection>;

/** The confinement settings of commands and evaluators, as the libraries' options name them. */
export interface SandboxSettings {
  sandbox: OsSandboxMode;
  network: boolean;
  envPassthrough: string[];
  readablePaths: string[];
}

/** The `tools:` section as options of `execute_command` (and of evolution evaluators). */
export function sandboxSettings(section: ToolsConfigSection): SandboxSettings {
  return {
    sandbox: section.sandbox,
    network: section.network,
    envPassthrough: section.env_passthrough,
    readablePaths: section.readable_paths,
  };
}
