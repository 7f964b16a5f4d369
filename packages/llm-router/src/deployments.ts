import { z } from 'zod';

/**
 * One deployment of a model: an upstream (its own base URL and key, or another provider altogether) that serves a
 * model name the chains and clients use. Several deployments of one name are balanced by
 * `router.load_balancing.strategy`, each with its own breaker, cooldown and rpm/tpm limits.
 */
export const deploymentSchema = z.strictObject({
  /** The model string the deployment serves, as chains and clients name it (`minimax/MiniMax-M2`). */
  model: z.string().min(1),
  /**
   * Names it in attempts, headers, metrics and breaker state; unique, and distinct from the provider ids
   * (`minimax`, `openai`, `ollama`, `llamacpp`).
   */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
  /**
   * The model string actually called (default: `model`): its prefix picks the protocol (`minimax/…`, `openai/…`
   * speak OpenAI Chat Completions; `ollama_chat/…` Ollama's API).
   */
  use: z.string().min(1).optional(),
  /** The upstream's API root (`…/v1` for OpenAI-compatible ones, the host for Ollama). Default: the provider's. */
  base_url: z.url().optional(),
  /** The environment variable holding this deployment's key. Default: the provider's usual one. */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
    .optional(),
  /** Share of the traffic under the `weighted` strategy (relative to the other deployments of the model). */
  weight: z.number().positive().default(1),
  /** Requests per minute it may be sent; beyond it the next deployment serves. */
  rpm: z.number().int().positive().optional(),
  /** Tokens (prompt + output) per minute it may be sent; beyond it the next deployment serves. */
  tpm: z.number().int().positive().optional(),
});
export type Deployment = z.output<typeof deploymentSchema>;

export const loadBalancingStrategies = ['ordered', 'weighted', 'least-busy', 'lowest-latency'] as const;
export type LoadBalancingStrategy = (typeof loadBalancingStrategies)[number];

export const loadBalancingSchema = z
  .strictObject({
    /**
     * How the deployments of one model are ordered for each request (the first that can serve does; the others are
     * its fallbacks): `ordered` as written, `weighted` random by weight, `least-busy` fewest requests in flight,
     * `lowest-latency` lowest moving average of the time to first token (untried ones first).
     */
    strategy: z.enum(loadBalancingStrategies).default('ordered'),
    /** How long a deployment that failed (429, 5xx, timeout) is skipped before it is tried again. */
    cooldown_seconds: z.number().min(0).default(30),
  })
  .prefault({});

/** One minute, the window of the rpm and tpm limits. */
const windowMs = 60_000;
/** Weight of the newest sample in the latency average. */
const latencyAlpha = 0.3;

interface Usage {
  /** Start times of the requests of the last minute. */
  requests: number[];
  /** [time, tokens] of the answers of the last minute. */
  tokens: [number, number][];
  inFlight: number;
  /** Moving average of the time to first token (ms), once measured. */
  latencyMs?: number;
}

/**
 * What the router knows of each deployment's load: requests and tokens of the last minute (for rpm/tpm), requests
 * in flight, and the average time to first token. In-process: one router's view.
 */
export class DeploymentLoad {
  private readonly usage = new Map<string, Usage>();

  constructor(private readonly now: () => number) {}

  private of(id: string): Usage {
    let usage = this.usage.get(id);
    if (!usage) {
      usage = { requests: [], tokens: [], inFlight: 0 };
      this.usage.set(id, usage);
    }
    return usage;
  }

  private prune(usage: Usage): void {
    const since = this.now() - windowMs;
    while ((usage.requests[0] ?? Number.POSITIVE_INFINITY) <= since) usage.requests.shift();
    while ((usage.tokens[0]?.[0] ?? Number.POSITIVE_INFINITY) <= since) usage.tokens.shift();
  }

  /** Why the deployment may not be sent a request now (its rpm or tpm limit), or undefined. */
  overLimit(deployment: Deployment): string | undefined {
    if (deployment.rpm === undefined && deployment.tpm === undefined) return undefined;
    const usage = this.of(deployment.id);
    this.prune(usage);
    if (deployment.rpm !== undefined && usage.requests.length >= deployment.rpm) {
      return `${deployment.id} is at its limit of ${deployment.rpm} requests per minute`;
    }
    const tokens = usage.tokens.reduce((sum, [, n]) => sum + n, 0);
    if (deployment.tpm !== undefined && tokens >= deployment.tpm) {
      return `${deployment.id} is at its limit of ${deployment.tpm} tokens per minute (${tokens} used)`;
    }
    return undefined;
  }

  /** A request was sent: it counts towards rpm and is in flight until `finished`. */
  started(id: string): void {
    const usage = this.of(id);
    usage.requests.push(this.now());
    usage.inFlight++;
  }

  /** The request ended; `firstTokenMs` and `tokens` when it answered. */
  finished(id: string, answer?: { firstTokenMs: number; tokens: number }): void {
    const usage = this.of(id);
    usage.inFlight = Math.max(0, usage.inFlight - 1);
    if (!answer) return;
    usage.tokens.push([this.now(), answer.tokens]);
    usage.latencyMs =
      usage.latencyMs === undefined
        ? answer.firstTokenMs
        : latencyAlpha * answer.firstTokenMs + (1 - latencyAlpha) * usage.latencyMs;
  }

  inFlight(id: string): number {
    return this.usage.get(id)?.inFlight ?? 0;
  }

  latencyMs(id: string): number | undefined {
    return this.usage.get(id)?.latencyMs;
  }
}

/**
 * The deployments in the order this request tries them. Ties keep the written order, so that `least-busy` and
 * `lowest-latency` behave as `ordered` on an idle or unmeasured group.
 */
export function orderDeployments<T extends { deployment: Deployment }>(
  members: readonly T[],
  strategy: LoadBalancingStrategy,
  load: DeploymentLoad,
  random: () => number = Math.random,
): T[] {
  switch (strategy) {
    case 'ordered':
      return [...members];
    case 'weighted': {
      // Weighted sampling without replacement: the first is drawn by weight, then the next among the rest, …
      const left = [...members];
      const order: T[] = [];
      while (left.length > 0) {
        const total = left.reduce((sum, m) => sum + m.deployment.weight, 0);
        let pick = random() * total;
        let index = left.findIndex((m) => {
          pick -= m.deployment.weight;
          return pick < 0;
        });
        if (index === -1) index = left.length - 1;
        order.push(...left.splice(index, 1));
      }
      return order;
    }
    case 'least-busy':
      return stableSort(members, (m) => load.inFlight(m.deployment.id));
    case 'lowest-latency':
      // Unmeasured deployments first (-1), so that each gets measured.
      return stableSort(members, (m) => load.latencyMs(m.deployment.id) ?? -1);
  }
}

function stableSort<T>(items: readonly T[], key: (item: T) => number): T[] {
  return items
    .map((item, index) => ({ item, index, key: key(item) }))
    .sort((a, b) => a.key - b.key || a.index - b.index)
    .map((entry) => entry.item);
}
