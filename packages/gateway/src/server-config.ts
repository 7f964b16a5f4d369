import {
  type EnsembleSettings,
  ensembleModelStrings,
  ensemblePrefix,
  modelPrefixes,
  parseModelString,
  type RouterRole,
  routerRoles,
} from '@unity/llm-router';
import { z } from 'zod';
import type { CatalogModel } from './model-catalog';

const reservedNames = ['unity', 'local', ...routerRoles];

/** Alias names: printable, no spaces or "/", none of the served names. */
function checkAliasNames(aliases: Record<string, string>, ctx: z.RefinementCtx): void {
  for (const name of Object.keys(aliases)) {
    if (reservedNames.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `"${name}" is already a served name (${reservedNames.join(', ')}): choose another alias`,
      });
    } else if (!/^[^\s/]+$/.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `"${name}": an alias has no spaces and no "/"` });
    }
  }
}

/** Where an alias points: a served name, or a model string the router can parse. */
const aliasTarget = z.string().superRefine((target, ctx) => {
  if (reservedNames.includes(target)) return;
  try {
    parseModelString(target, 'target');
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `"${target}" is neither a served name (${reservedNames.join(', ')}) nor a model string: ${(error as Error).message}`,
    });
  }
});

/** `<provider>/<model or pattern>`, `*` matching any part of the model. */
const servePattern = z.string().superRefine((pattern, ctx) => {
  const slash = pattern.indexOf('/');
  const prefix = slash > 0 ? pattern.slice(0, slash) : '';
  if (!(prefix in modelPrefixes) || slash === pattern.length - 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected <provider>/<model or pattern> with a provider of ${Object.keys(modelPrefixes).join(', ')} (e.g. minimax/*, ollama_chat/*), got "${pattern}"`,
    });
  }
});

/** A browser origin (`https://app.example.com`, `http://localhost:3000`) or `*` for any. */
const corsOrigin = z.string().refine(
  (origin) => {
    if (origin === '*') return true;
    try {
      return new URL(origin).origin === origin;
    } catch {
      return false;
    }
  },
  {
    error: (issue) =>
      `expected an origin such as http://localhost:3000 (scheme, host, optional port; no path) or "*", got "${String(issue.input)}"`,
  },
);

const corsSchema = z
  .strictObject({
    /** Origins whose browser requests are allowed (`*`: any). Empty: CORS off, no CORS header is sent. */
    origins: z.array(corsOrigin).default([]),
    /** Request headers allowed beyond authorization, x-api-key, anthropic-version, content-type and the OpenAI SDKs'. */
    allow_headers: z
      .array(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name'))
      .default([]),
    /** How long a browser may cache a preflight answer. */
    max_age_seconds: z.number().int().min(0).default(600),
    /** Allow cookies and HTTP auth on cross-origin requests (not with origins: ["*"]). */
    credentials: z.boolean().default(false),
  })
  .refine((c) => !(c.credentials && c.origins.includes('*')), {
    path: ['credentials'],
    error: 'cannot be true with origins: ["*"]: name the origins that may send credentials',
  })
  .prefault({});

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
    /**
     * The gateway's data folder: the virtual keys (`keys.sqlite`, hashed) and their spend (`spend.sqlite`), beside the
     * model store (`~/.unity/models`) by default; a relative path is from the working folder.
     */
    data_dir: z.string().min(1).default('~/.unity/gateway'),
    /**
     * Prices in US dollars per million tokens by model string (`minimax/MiniMax-M2: {input_per_mtok: 0.3,
     * output_per_mtok: 1.2}`), over the built-in list prices; `*` prices any other cloud model. Local models
     * (Ollama, the embedded engine) cost 0.
     */
    prices: z
      .record(
        z.string(),
        z.strictObject({ input_per_mtok: z.number().nonnegative(), output_per_mtok: z.number().nonnegative() }),
      )
      .default({}),
    /** Output tokens reserved against a virtual key's tpm and budget for a request that sets no maximum. */
    estimate_output_tokens: z.number().int().positive().default(4096),
    /**
     * More names for served models, so that apps keep the model name they hard-code: `gpt-4o-mini: unity`,
     * `claude-sonnet-4: coding`, `fast: ollama_chat/llama3.2:1b`. A target is a served name (`unity`, `local`, a role)
     * or a model string. Listed by /v1/models and /api/tags.
     */
    model_aliases: z.record(z.string(), aliasTarget).superRefine(checkAliasNames).default({}),
    /**
     * Model strings clients may name beyond the configured ones, per provider, `*` matching any part:
     * `minimax/*`, `openai/gpt-4o*`, `ollama_chat/*`, `llamacpp/*` (store names only). Empty: only the configured ones.
     */
    serve_models: z.array(servePattern).default([]),
    /**
     * Redis shared by the replicas of one gateway (`redis://[user:password@]host:6379[/db]`, `rediss://…`): with it, N
     * gateway processes behind any load balancer act as one — the response cache, opened circuits, keys, rate limits,
     * budgets and spend live there. Without it, all of them stay in this process (keys in the embedded database).
     */
    redis_url: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'expected a Redis URL such as redis://127.0.0.1:6379')
      .optional(),
    /**
     * What a replica does when Redis does not answer: `open` admits requests without their limit and budget checks
     * (counted in unity_redis_fail_open_total, a redis.down event on /ws) and keeps serving; `closed` refuses them
     * with 503 and Retry-After. Either way it reconnects by itself and recovers when Redis returns.
     */
    redis_failure: z.enum(['open', 'closed']).default('open'),
    /** How long one Redis command may take before it counts as a failure (commands never queue while Redis is away). */
    redis_timeout_ms: z.number().int().positive().default(500),
    /** Prefix of every Redis key and channel, so that several gateways (or tests) can share one Redis. */
    redis_key_prefix: z.string().default('unity:'),
    /** Cross-origin requests from browser apps: off until `origins` names some. */
    cors: corsSchema,
  })
  .refine((s) => s.body_timeout_seconds >= s.headers_timeout_seconds, {
    path: ['body_timeout_seconds'],
    error: 'must be at least headers_timeout_seconds',
  })
  .prefault({});

export type ServerConfig = z.output<typeof serverConfigSchema>;

interface ModelsConfig {
  cloud_llm: { enabled: boolean; provider: string; model: string; fallback_to_local?: boolean };
  /** The roles' model strings (other keys, such as the embedding chain, are not chat models). */
  models: { readonly [key: string]: unknown };
  privacy?: { local_only: boolean };
  /** Named ensembles (`ensembles:`), each served as `ensemble/<name>`. */
  ensembles?: Readonly<Record<string, Pick<EnsembleSettings, 'members' | 'judge' | 'fuser'>>>;
}

/** `qwen2.5-coder:7b` → `ollama_chat/qwen2.5-coder:7b`; a model string as it is. */
const fullModelString = (value: string) => {
  const ref = parseModelString(value);
  return `${ref.prefix}/${ref.model}`;
};

/**
 * The model names the gateway answers to, from the config: `unity` (the default chain), `local` (the same, never
 * leaving the machine), each role (`reasoning`, `coding`, `fallback`), the cloud model and each local model string
 * (tried first, then the role's local models as the router does), each ensemble (`ensemble/<name>`, whose chain is
 * every model it may call), and each of `aliases` (`server.model_aliases`). Each carries its chain: the model strings
 * the router tries for it, in order.
 */
export function catalogFromConfig(
  config: ModelsConfig,
  aliases: Readonly<Record<string, string>> = {},
): CatalogModel[] {
  const { cloud_llm } = config;
  const roleModels = new Map(
    routerRoles.flatMap((role) => {
      const value = config.models[role];
      return typeof value === 'string' ? [[role, value] as const] : [];
    }),
  );
  const cloud =
    cloud_llm.enabled && !config.privacy?.local_only ? `${cloud_llm.provider}/${cloud_llm.model}` : undefined;
  const chainOf = (first: string | undefined, role: RouterRole, localOnly: boolean): string[] => {
    const wanted: string[] = [];
    if (first) wanted.push(first);
    else if (cloud) wanted.push(cloud);
    if (wanted.length === 0 || !cloud || cloud_llm.fallback_to_local !== false) {
      wanted.push(...[roleModels.get(role), roleModels.get('fallback')].filter((m): m is string => !!m));
    }
    const chain = [...new Set(wanted)];
    return localOnly ? chain.filter((m) => parseModelString(m).kind !== 'openai-compatible') : chain;
  };
  const models: CatalogModel[] = [
    { id: 'unity', route: {}, local: false, chain: chainOf(undefined, 'reasoning', false) },
    { id: 'local', route: { localOnly: true }, local: true, chain: chainOf(undefined, 'reasoning', true) },
  ];
  for (const role of roleModels.keys()) {
    models.push({ id: role, route: { role }, local: false, chain: chainOf(undefined, role, false) });
  }
  const seen = new Set(models.map((m) => m.id));
  const entry = (id: string, modelString: string, local: boolean): CatalogModel => ({
    id,
    route: { model: modelString },
    local,
    family: parseModelString(modelString).kind,
    chain: chainOf(modelString, 'reasoning', false),
  });
  const add = (modelString: string, local: boolean) => {
    if (seen.has(modelString)) return;
    seen.add(modelString);
    models.push(entry(modelString, modelString, local));
  };
  if (cloud_llm.enabled) add(`${cloud_llm.provider}/${cloud_llm.model}`, false);
  for (const modelString of roleModels.values()) add(modelString, true);
  // Each ensemble: the router answers `ensemble/<name>` itself; its chain is every model it may call.
  for (const [name, ensemble] of Object.entries(config.ensembles ?? {})) {
    const id = `${ensemblePrefix}${name}`;
    const chain = ensembleModelStrings(ensemble, config.models);
    const local = chain.every((m) => parseModelString(m).kind !== 'openai-compatible');
    seen.add(id);
    models.push({ id, route: { model: id }, local, family: 'ensemble', chain });
  }
  for (const [alias, target] of Object.entries(aliases)) {
    if (seen.has(alias)) continue;
    seen.add(alias);
    const served = models.find((m) => m.id === target) ?? models.find((m) => m.id === fullModelString(target));
    if (served) {
      models.push({ ...served, id: alias, aliasOf: served.id });
    } else {
      const modelString = fullModelString(target);
      models.push({
        ...entry(alias, modelString, parseModelString(modelString).kind !== 'openai-compatible'),
        aliasOf: modelString,
      });
    }
  }
  return models;
}
