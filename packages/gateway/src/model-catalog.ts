import { GatewayError } from './errors';

/** The router fields a served model name stands for: a role's chain, one model string, local-only. */
export interface ModelRoute {
  role?: string;
  model?: string;
  localOnly?: boolean;
}

/** One model name the gateway answers to, on both protocols. */
export interface CatalogModel {
  /** The name clients send (`coding`, `ollama_chat/qwen2.5-coder:7b`, `llamacpp/stories260K`). */
  id: string;
  route: ModelRoute;
  /** True when it never leaves the machine (reported by /api/show and /v1/models). */
  local: boolean;
  /** The model family where known (`/api/show`, `/api/tags` details). */
  family?: string;
}

/** The models the gateway serves: listed by /v1/models and /api/tags, resolved for every chat request. */
export class ModelCatalog {
  private readonly byId: Map<string, CatalogModel>;

  constructor(models: readonly CatalogModel[]) {
    this.byId = new Map(models.map((m) => [m.id, m]));
  }

  private find(id: string): CatalogModel | undefined {
    return this.byId.get(id) ?? this.list().find((m) => m.route.model?.slice(m.route.model.indexOf('/') + 1) === id);
  }

  list(): CatalogModel[] {
    return [...this.byId.values()];
  }

  /**
   * The model for a requested name, or a 404 listing the known ones. An Ollama-style `:latest` tag is ignored, and a
   * bare model name (`MiniMax-M2`, `qwen2.5-coder:7b`) finds the configured model string it ends (`minimax/MiniMax-M2`),
   * so an app keeps the model name it sent before its base URL pointed here.
   */
  resolve(id: string): CatalogModel {
    const found = this.find(id) ?? (id.endsWith(':latest') ? this.find(id.slice(0, -7)) : undefined);
    if (found) return found;
    const known = [...this.byId.keys()];
    throw new GatewayError({
      code: 'UNKNOWN_MODEL',
      status: 404,
      param: 'model',
      message: `model "${id}" is not served here; known models: ${known.join(', ') || '(none configured)'}`,
      fix: 'send one of the known model names (GET /v1/models or /api/tags lists them)',
    });
  }
}
