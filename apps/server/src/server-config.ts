import { parseModelString } from '@unity/llm-router';
import { z } from 'zod';
import type { CatalogModel } from './model-catalog';

/**
 * The `server:` section of the Unity config (every field optional), validated by `loadConfig({ sections: { server:
 * serverConfigSchema } })` so that errors name the file, line and field.
 */
export const serverConfigSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(8787),
    /** The key itself (prefer `api_key_env`: config files get shared). */
    api_key: z.string().min(1).optional(),
    /** The environment variable holding the key. */
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .default('UNITY_API_KEY'),
    body_limit_bytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** How often the health monitor runs the cheap checks (the router skips a provider it finds down); 0: off. */
    health_interval_seconds: z.number().min(0).default(5),
    /** How long in-flight streams may take to finish on SIGTERM before they are cancelled. */
    drain_timeout_seconds: z.number().positive().default(10),
  })
  .prefault({});

export type ServerConfig = z.output<typeof serverConfigSchema>;

interface ModelsConfig {
  cloud_llm: { enabled: boolean; provider: string; model: string };
  models: Record<string, string>;
}

/**
 * The model names the gateway answers to, from the config: `unity` (the default chain), `local` (the same, never
 * leaving the machine), each role (`reasoning`, `coding`, `fallback`), the cloud model and each local model string
 * (tried first, then the role's local models as the router does).
 */
export function catalogFromConfig(config: ModelsConfig): CatalogModel[] {
  const models: CatalogModel[] = [
    { id: 'unity', route: {}, local: false },
    { id: 'local', route: { localOnly: true }, local: true },
  ];
  for (const role of Object.keys(config.models)) models.push({ id: role, route: { role }, local: false });
  const seen = new Set(models.map((m) => m.id));
  const add = (modelString: string, local: boolean) => {
    if (seen.has(modelString)) return;
    seen.add(modelString);
    const ref = parseModelString(modelString);
    models.push({ id: modelString, route: { model: modelString }, local, family: ref.kind });
  };
  if (config.cloud_llm.enabled) add(`${config.cloud_llm.provider}/${config.cloud_llm.model}`, false);
  for (const modelString of Object.values(config.models)) add(modelString, true);
  return models;
}
