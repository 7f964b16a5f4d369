import { parseModelString } from '@unity/llm-router';
import { GatewayError } from './errors';

/** The router fields a served model name stands for: a role's chain, one model string, local-only. */
export interface ModelRoute {
  role?: string;
  model?: string;
  localOnly?: boolean;
}

/** One model name the gateway answers to, on both protocols. */
export interface CatalogModel {
  /** The name clients send (`coding`, `ollama_chat/qwen2.5-coder:7b`, `llamacpp/stories260K`, an alias). */
  id: string;
  route: ModelRoute;
  /** True when it never leaves the machine (reported by /api/show and /v1/models). */
  local: boolean;
  /** The model family where known (`/api/show`, `/api/tags` details). */
  family?: string;
  /** The model strings the router tries for it, in order (what /api/show and /api/tags describe). */
  chain?: string[];
  /** For an alias (`server.model_aliases`): the served name or model string it stands for. */
  aliasOf?: string;
}

export interface ModelCatalogOptions {
  /**
   * Model-string patterns a client may name beyond the listed models (`server.serve_models`): `<provider>/<model>`,
   * `*` matching any part (`minimax/*`, `ollama_chat/*`, `openai/gpt-4o*`). For `llamacpp/` only store names match.
   */
  patterns?: readonly string[];
}

/** A model string with its provider prefix as written and the model part. */
interface Parsed {
  prefix: string;
  kind: string;
  model: string;
}

/** A store name: what `llamacpp/<name>` may be when allowed by a pattern (never a path on this machine). */
const storeName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

class ServePattern {
  private readonly regex: RegExp;
  readonly prefix: string;
  readonly kind: string;

  constructor(readonly text: string) {
    const ref = parseModelString(text, 'server.serve_models');
    this.prefix = ref.prefix;
    this.kind = ref.kind;
    const any = ref.kind === 'llamacpp' ? '[^/\\\\]*' : '.*';
    const body = ref.model
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join(any);
    this.regex = new RegExp(`^${body}$`);
  }

  /** Does `model` (the part after the prefix) match, for a model string of this provider? */
  matches(model: string): boolean {
    if (model === '' || /[\s\u0000-\u001f]/.test(model)) return false;
    if (this.kind === 'llamacpp' && !storeName.test(model)) return false;
    return this.regex.test(model);
  }

  /** Is a model of this parsed string one this pattern serves (same provider, or another prefix of Ollama)? */
  serves(ref: Parsed): boolean {
    const sameProvider = this.kind === 'ollama' ? ref.kind === 'ollama' : ref.prefix === this.prefix;
    return sameProvider && this.matches(ref.model);
  }
}

/**
 * The models the gateway serves: listed by /v1/models and /api/tags, resolved for every chat request. Beyond the
 * configured names and aliases, model strings matching `server.serve_models` are served on request.
 */
export class ModelCatalog {
  private readonly byId: Map<string, CatalogModel>;
  private readonly patterns: ServePattern[];

  constructor(models: readonly CatalogModel[], options: ModelCatalogOptions = {}) {
    this.byId = new Map(models.map((m) => [m.id, m]));
    this.patterns = (options.patterns ?? []).map((p) => new ServePattern(p));
  }

  private find(id: string): CatalogModel | undefined {
    return this.byId.get(id) ?? this.list().find((m) => m.route.model?.slice(m.route.model.indexOf('/') + 1) === id);
  }

  /**
   * A model string served by a pattern: `minimax/MiniMax-M2`, or a bare name (`llama3.2:1b`), which means that model
   * on Ollama (the project's one rule for bare names).
   */
  private fromPatterns(id: string): CatalogModel | undefined {
    let ref: Parsed;
    try {
      ref = parseModelString(id);
    } catch {
      return undefined;
    }
    if (!this.patterns.some((p) => p.serves(ref))) return undefined;
    const modelString = `${ref.prefix}/${ref.model}`;
    return (
      this.byId.get(modelString) ?? {
        id: modelString,
        route: { model: modelString },
        local: ref.kind !== 'openai-compatible',
        family: ref.kind,
        chain: [modelString],
      }
    );
  }

  /** The configured names and aliases. */
  list(): CatalogModel[] {
    return [...this.byId.values()];
  }

  /**
   * The configured names and aliases, then each model string a pattern serves among `available` (the models the
   * local engines have, as the router lists them), under the pattern's prefix.
   */
  listWith(available: readonly { modelString: string }[]): CatalogModel[] {
    const listed = this.list();
    const ids = new Set(listed.map((m) => m.id));
    for (const { modelString } of available) {
      let ref: Parsed;
      try {
        ref = parseModelString(modelString);
      } catch {
        continue;
      }
      const pattern = this.patterns.find((p) => p.serves(ref));
      if (!pattern) continue;
      const id = `${pattern.prefix}/${ref.model}`;
      if (ids.has(id)) continue;
      ids.add(id);
      listed.push({ id, route: { model: id }, local: ref.kind !== 'openai-compatible', family: ref.kind, chain: [id] });
    }
    return listed;
  }

  /**
   * The model for a requested name, or a 404 listing the known ones. An Ollama-style `:latest` tag is ignored, and a
   * bare model name (`MiniMax-M2`, `qwen2.5-coder:7b`) finds the configured model string it ends (`minimax/MiniMax-M2`),
   * so an app keeps the model name it sent before its base URL pointed here. Then `server.serve_models` is tried.
   */
  resolve(id: string): CatalogModel {
    const found =
      this.find(id) ?? (id.endsWith(':latest') ? this.find(id.slice(0, -7)) : undefined) ?? this.fromPatterns(id);
    if (found) return found;
    const known = [...this.byId.keys()];
    const patterns = this.patterns.map((p) => p.text);
    throw new GatewayError({
      code: 'UNKNOWN_MODEL',
      status: 404,
      param: 'model',
      message: `model "${id}" is not served here; known models: ${known.join(', ') || '(none configured)'}${
        patterns.length > 0 ? `; also served: model strings matching ${patterns.join(', ')}` : ''
      }`,
      fix: 'send one of the known model names (GET /v1/models or /api/tags lists them), or add an alias under server.model_aliases or a pattern under server.serve_models in the config',
    });
  }
}
