import { z } from 'zod';
import { deploymentSchema, loadBalancingSchema } from './deployments';
import { embeddingModelsSchema } from './embedding-config';
import { ensemblesSchema } from './ensembles/ensemble-config';
import { ConfigError } from './errors';
import { parseModelString } from './model-string';

/** The roles a request can ask for; each names a local model under `models:`. */
export const routerRoles = ['reasoning', 'coding', 'fallback'] as const;
export type RouterRole = (typeof routerRoles)[number];

/** Cloud providers `cloud_llm.provider` can name: both speak OpenAI Chat Completions. */
export const cloudProviders = ['minimax', 'openai'] as const;
export type CloudProvider = (typeof cloudProviders)[number];

const seedLocalModel = 'ollama_chat/qwen2.5-coder:7b';

/** A LiteLLM-style model string whose prefix names a known provider. */
const modelString = z.string().superRefine((value, ctx) => {
  try {
    parseModelString(value);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    const message = error.message.replace(/^model: /, '');
    ctx.addIssue({ code: 'custom', message, params: { fix: error.fix } });
  }
});

const seconds = z.number().positive();
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const cloudLlmSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    provider: z.enum(cloudProviders).default('minimax'),
    model: z.string().min(1).default('MiniMax-M2'),
    fallback_to_local: z.boolean().default(true),
    /** Bounds each cloud attempt. */
    timeout_seconds: seconds.default(3600),
    /** Default `maxOutputTokens` of cloud requests that set none. */
    max_tokens: z.number().int().positive().default(4096),
    /** Read by the agent loop, not the router; the top-level `max_iterations` is the same setting (default 1000). */
    max_iterations: z.number().int().positive().optional(),
    /** OpenAI-compatible base URL (default: the provider's own). */
    base_url: z.url().optional(),
    /** Name of the environment variable holding the key (default MINIMAX_API_KEY / OPENAI_API_KEY). */
    api_key_env: envVarName.optional(),
  })
  .prefault({});

const modelsSchema = z
  .strictObject({
    reasoning: modelString.default(seedLocalModel),
    coding: modelString.default(seedLocalModel),
    fallback: modelString.default(seedLocalModel),
    /** The embedding chain (`Embedder`): a model string or a list; see embedding-config.ts. */
    embedding: embeddingModelsSchema,
  })
  .prefault({});

const ollamaSchema = z
  .strictObject({
    /** Default: env OLLAMA_HOST, else http://127.0.0.1:11434. */
    host: z.url().optional(),
    /** Upper bound on `num_ctx`: the model's real context length (from /api/show) is used up to this. */
    max_context: z.number().int().positive().default(32_768),
    /** How long Ollama keeps a model loaded after a request (`5m`, seconds, or -1). */
    keep_alive: z.union([z.string(), z.number()]).optional(),
  })
  .prefault({});

const llamacppSchema = z
  .strictObject({
    /** CPU threads for generation (default: half the cores, at least 1). */
    threads: z.number().int().positive().optional(),
    /** Tokens per context sequence (default: min(2048, the model's training context)). */
    context_size: z.number().int().positive().optional(),
    /** Requests generated at once; more wait in order (default 2). */
    sequences: z.number().int().positive().optional(),
    /** Where `llamacpp/<name>` finds `<name>.gguf` (default: env UNITY_MODELS_DIR, else ~/.unity/models). */
    store_dir: z.string().min(1).optional(),
    /**
     * What `unity models pull default` pulls: a URL, `hf:owner/repo/file.gguf` or a local .gguf file (default: env
     * UNITY_DEFAULT_MODEL, else Qwen2.5 0.5B Instruct Q4_K_M from the Hugging Face hub).
     */
    default_model: z.string().min(1).optional(),
  })
  .prefault({});

const privacySchema = z
  .strictObject({
    /** Never send anything to a remote (cloud) provider. */
    local_only: z.boolean().default(false),
  })
  .prefault({});

const routerSchema = z
  .strictObject({
    /** Bounds each attempt on a local provider (cold loads of a large model take minutes). */
    local_timeout_seconds: seconds.default(600),
    /** Bounds the wait for a stream's first token; until then the router may still fall back. */
    first_token_timeout_seconds: seconds.default(120),
    /** Optional bound on a whole request, every attempt and retry included. */
    deadline_seconds: seconds.optional(),
    /** Also fall back when a provider refuses the request itself (400) or the key (401/403). */
    fallback_on_client_errors: z.boolean().default(false),
    /**
     * The output cap of requests that set none, for every model but the cloud model (`cloud_llm.max_tokens`): a local
     * model without one writes until its context is full. A cut answer ends with finish reason `length`.
     */
    max_output_tokens: z.number().int().positive().default(4096),
    /** How the `deployments` of one model share its requests. */
    load_balancing: loadBalancingSchema,
    /** A prompt longer than a model's context: refuse that model, or drop the oldest turns and say so. */
    context_overflow: z.enum(['refuse', 'compact']).default('refuse'),
    /**
     * When every model of the chain failed (an outage, not a refused request): `store` answers with the model store's
     * newest GGUF model through the embedded engine (llamacpp), `none` fails instead. Off with
     * `cloud_llm.fallback_to_local: false`; allowed under `privacy.local_only` (it runs in-process).
     */
    last_resort: z.enum(['store', 'none']).default('store'),
    retries: z
      .strictObject({
        /** Retries per provider after the first attempt, on transient failures. */
        max_retries: z.number().int().min(0).default(2),
        initial_delay_ms: z.number().int().min(0).default(250),
        max_delay_ms: z.number().int().min(0).default(10_000),
        /** A Retry-After longer than this is not waited for: the provider is skipped instead. */
        retry_after_cap_seconds: z.number().min(0).default(30),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        /** Consecutive transient failures that open a provider's circuit. */
        failure_threshold: z.number().int().positive().default(5),
        /** How long an open circuit skips the provider before one probe request is let through. */
        cooldown_seconds: seconds.default(30),
      })
      .prefault({}),
    cache: z
      .strictObject({
        enabled: z.boolean().default(false),
        /**
         * Where answers are kept: `memory` (lost on exit), `sqlite` (a file: `path`; needs node-sqlite3-wasm) or `redis`
         * (`redis_url`; needs ioredis). A gateway with Redis replicas (`server.redis_url`) shares its own store instead.
         */
        store: z.enum(['memory', 'sqlite', 'redis']).default('memory'),
        /** The most answers kept (least recently used go first; in Redis, the oldest). */
        max_entries: z.number().int().positive().default(256),
        ttl_seconds: seconds.default(300),
        /** `store: sqlite`: the database file, relative to the router's working folder (`~/` is the home folder). */
        path: z.string().min(1).default('.unity/router-cache.sqlite'),
        /** `store: sqlite`: the most bytes of answers kept, besides `max_entries` (least recently used go first). */
        max_bytes: z.number().int().positive().optional(),
        /** `store: redis`: `redis://[user:password@]host:port[/db]` or `rediss://…`. */
        redis_url: z
          .string()
          .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
          .optional(),
        /** `store: redis`: prefix of every key, so that several routers or apps can share one Redis. */
        redis_key_prefix: z.string().default('unity:router-cache:'),
        /** How long one Redis command may take before it is a miss (SQLite never waits: a locked file is a miss at once). */
        timeout_ms: z.number().int().positive().default(250),
        /**
         * Serve the answer of an earlier request whose last user message means the same (cosine similarity of their
         * embeddings at least `threshold`), when everything else about the two requests is equal.
         */
        semantic: z
          .strictObject({
            enabled: z.boolean().default(false),
            /** The least cosine similarity between the two last user messages for a hit (0–1). */
            threshold: z.number().gt(0).max(1).default(0.95),
            /** The most request vectors kept (the oldest go first). */
            max_entries: z.number().int().positive().default(2000),
            /** The embedding model (default: the `models.embedding` chain). */
            model: modelString.optional(),
            /** Bound on embedding a request's message; past it the request skips the semantic layer. */
            timeout_ms: z.number().int().positive().default(2000),
          })
          .prefault({}),
      })
      .prefault({}),
    audit: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** JSONL file, relative to the working directory. */
        path: z.string().min(1).default('.unity/audit.jsonl'),
        /** Write the prompt and answer text, not only their sha256. */
        include_text: z.boolean().default(false),
      })
      .prefault({}),
  })
  .prefault({});

/**
 * The seed's `configs/system.yaml`, as written, plus the router's own settings. Unknown top-level sections are kept
 * (other packages read their own sections from the same file); unknown keys inside the router's sections are errors,
 * so that a typo is not silently ignored.
 */
export const unityConfigSchema = z
  .looseObject({
    cloud_llm: cloudLlmSchema,
    models: modelsSchema,
    diagnostics: z
      .looseObject({
        /** Ollama models checked when `unity run` and `unity serve` start (a warning each, with the fix). */
        require_models: z.array(z.string().min(1)).default(['qwen2.5-coder:7b']),
        /** Refuse to start when a required model is missing, instead of warning. */
        enforce: z.boolean().default(false),
      })
      .prefault({}),
    /** The agent loop's hard limit, where the seed's convergence snippet puts it; same as `cloud_llm.max_iterations`. */
    max_iterations: z.number().int().positive().optional(),
    convergence_warnings: z.array(z.number().int().positive()).default([50, 100, 200, 500]),
    ollama: ollamaSchema,
    llamacpp: llamacppSchema,
    privacy: privacySchema,
    router: routerSchema,
    /** Several upstreams behind one model string (two keys, a second region, a vLLM box), balanced per request. */
    deployments: z.array(deploymentSchema).default([]),
    /** Named multi-model ensembles, served as the model `ensemble/<name>` (see ensembles/ensemble-config.ts). */
    ensembles: ensemblesSchema,
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>(['minimax', 'openai', 'ollama', 'llamacpp']);
    config.deployments.forEach((deployment, index) => {
      for (const field of ['model', 'use'] as const) {
        const value = deployment[field];
        if (value === undefined) continue;
        try {
          const ref = parseModelString(value);
          if (ref.kind === 'llamacpp') {
            ctx.addIssue({
              code: 'custom',
              path: ['deployments', index, field],
              message: `"${value}" is the embedded engine, which has no upstream to deploy`,
              params: { fix: 'deploy OpenAI-compatible (minimax/…, openai/…) or Ollama (ollama_chat/…) models' },
            });
          }
        } catch (error) {
          if (!ConfigError.isInstance(error)) throw error;
          ctx.addIssue({
            code: 'custom',
            path: ['deployments', index, field],
            message: error.message.replace(/^model: /, ''),
            params: { fix: error.fix },
          });
        }
      }
      if (ids.has(deployment.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', index, 'id'],
          message: `"${deployment.id}" is already ${['minimax', 'openai', 'ollama', 'llamacpp'].includes(deployment.id) ? 'a provider id' : 'the id of another deployment'}`,
          params: { fix: 'give each deployment its own id (e.g. minimax-eu, minimax-us)' },
        });
      }
      ids.add(deployment.id);
    });
  })
  .superRefine((config, ctx) => {
    const top = config.max_iterations;
    const cloud = config.cloud_llm.max_iterations;
    if (top === undefined || cloud === undefined || top === cloud) return;
    ctx.addIssue({
      code: 'custom',
      path: ['max_iterations'],
      message: `${top} differs from cloud_llm.max_iterations: ${cloud}; both set the agent loop's iteration limit`,
      params: { fix: 'keep one of max_iterations and cloud_llm.max_iterations, or give them the same value' },
    });
  })
  // Checked above before any default, so that only values actually written can conflict; then one value everywhere.
  .overwrite((config) => ({
    ...config,
    cloud_llm: {
      ...config.cloud_llm,
      max_iterations: config.cloud_llm.max_iterations ?? config.max_iterations ?? 1000,
    },
  }));

export type UnityConfig = z.output<typeof unityConfigSchema>;
/** What a config file may contain: every field optional. */
export type UnityConfigInput = z.input<typeof unityConfigSchema>;
