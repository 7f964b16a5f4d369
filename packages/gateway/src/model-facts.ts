import type { GatewayModelInfo, GatewayRouter } from './gateway-router';
import type { CatalogModel } from './model-catalog';

/** What the gateway can say of one served name: its chain's facts, combined. */
export interface ModelFacts {
  /** The chain's first model's facts (the one that normally serves): format, family, size, digest, times. */
  primary: GatewayModelInfo | undefined;
  /** The smallest context window of the chain's models that report one: a prompt that fits it fits every model. */
  contextLength: number | undefined;
  /**
   * Only what is true of the name: `completion` unless every model of its chain is known not to chat (an embedding
   * model), `tools`, `embedding` and the rest when every model of the chain is known to have them.
   */
  capabilities: string[];
}

/** How long a listing waits for what the router knows before answering with what the catalog knows. */
const factsTimeoutMs = 5_000;

/**
 * Reads what the router knows of model strings, once per listing (a name's chain and the next name's often share
 * models). A router without `modelInfo` knows nothing, and a failed look-up counts as nothing known.
 */
export class ModelFactsReader {
  private readonly seen = new Map<string, Promise<GatewayModelInfo | undefined>>();
  private readonly signal = AbortSignal.timeout(factsTimeoutMs);

  constructor(private readonly router: GatewayRouter) {}

  info(modelString: string): Promise<GatewayModelInfo | undefined> {
    let info = this.seen.get(modelString);
    if (!info) {
      info = this.router.modelInfo
        ? this.router.modelInfo(modelString, this.signal).catch(() => undefined)
        : Promise.resolve(undefined);
      this.seen.set(modelString, info);
    }
    return info;
  }

  async facts(model: CatalogModel): Promise<ModelFacts> {
    const chain = model.chain ?? (model.route.model ? [model.route.model] : []);
    const infos = await Promise.all(chain.map((m) => this.info(m)));
    const known = infos.filter((i): i is GatewayModelInfo => i !== undefined);
    const lengths = known.map((i) => i.contextLength).filter((n): n is number => n !== undefined && n > 0);
    const shared = (capability: string) =>
      known.length > 0 && known.length === chain.length && known.every((i) => i.capabilities.includes(capability));
    const extra = [...new Set(known.flatMap((i) => i.capabilities))].filter((c) => c !== 'completion' && shared(c));
    // Chat is served on every name (the router falls back), unless every model known is one that cannot chat.
    const chats = known.length < chain.length || known.some((i) => i.capabilities.includes('completion'));
    return {
      primary: infos[0],
      contextLength: lengths.length > 0 ? Math.min(...lengths) : undefined,
      capabilities: [...(chats ? ['completion'] : []), ...extra],
    };
  }
}

/** Ollama's `details` of a served name. */
export function ollamaDetails(model: CatalogModel, facts: ModelFacts) {
  const p = facts.primary;
  const family = p?.family ?? model.family ?? (model.local ? 'local' : 'unity');
  return {
    parent_model: model.aliasOf ?? '',
    format: p?.format ?? (model.route.model?.startsWith('llamacpp/') ? 'gguf' : ''),
    family,
    families: p?.families ?? [family],
    parameter_size: p?.parameterSize ?? '',
    quantization_level: p?.quantization ?? '',
  };
}
