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
    /** A connection whose request headers are not complete this long after it opened is closed (slowloris). */
    headers_timeout_seconds: z.number().positive().default(10),
    /** A request whose body is not complete this long after it began is closed; at least `headers_timeout_seconds`. */
    body_timeout_seconds: z.number().positive().default(30),
    /** An idle keep-alive connection is closed after this long without a new request. */
    keep_alive_timeout_seconds: z.number().positive().default(5),
    /**
     * A connection that sends and receives nothing for this long is closed. Chat requests are exempt once their body
     * is in: the router's own timeouts bound them, and a stream may wait long for a cold model's first token.
     */
    idle_timeout_seconds: z.number().positive().default(120),
    /** Requests served at once; beyond it, 503 with Retry-After (/healthz and /ws upgrades are not counted). */
    max_concurrent_requests: z.number().int().positive().default(256),
    /** Request bodies being read into memory at once; beyond it, 503 with Retry-After. */
    max_concurrent_bodies: z.number().int().positive().default(32),
    /** How deep a JSON body may nest objects and arrays; deeper ones get 400. */
    max_json_depth: z.number().int().positive().default(64),
    /** The largest message a /ws client may send, in bytes; a larger one closes the connection (1009). */
    ws_max_message_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
    /** Messages a /ws client may send per second (bursts up to as many); beyond it the connection is closed (1008). */
    ws_messages_per_second: z.number().positive().default(20),
    /** How many recent events a new /ws client receives first. */
    ws_backlog_events: z.number().int().min(0).default(200),
    /** How many client-published events are kept, in a ring of their own that never evicts the server's events. */
    client_event_backlog: z.number().int().min(0).default(100),
  })
  .refine((s) => s.body_timeout_seconds >= s.headers_timeout_seconds, {
    path: ['body_timeout_seconds'],
    error: 'must be at least headers_timeout_seconds',
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
