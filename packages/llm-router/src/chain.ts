import { attemptError } from './attempt-report';
import type { RouterRole, UnityConfig } from './config-schema';
import type { Deployment } from './deployments';
import { ProviderError, RouterError } from './errors';
import { findLastResort, type LastResortModel, lastResortEnabled } from './last-resort';
import type { Provider } from './provider';
import type { ProviderFactory, ResolvedModel } from './provider-factory';

/** One model of a request's chain, with its provider (absent when it cannot be used at all). */
export interface Link extends ResolvedModel {
  provider?: Provider;
  remote: boolean;
  /** The model store's model, tried after the chain failed (`router.last_resort: store`). */
  lastResort?: boolean;
  /** A model string with `deployments`: these links, ordered per request by `router.load_balancing`. */
  group?: Link[];
}

export type DeployedLink = Link & { deployment: Deployment };

/**
 * The chains of models a router's requests go through: cloud → the role's local model → `models.fallback`, built once
 * per (model, role, local-only) — the config, the environment and the providers do not change during a router's life.
 */
export class ChainBuilder {
  private readonly chains = new Map<string, Promise<Link[]>>();

  constructor(
    private readonly config: UnityConfig,
    private readonly factory: ProviderFactory,
  ) {}

  /** The request's chain; a failed build is not kept. */
  chain(requestModel: string | undefined, role: RouterRole, localOnly: boolean): Promise<Link[]> {
    const key = `${requestModel ?? ''}\n${role}\n${localOnly}`;
    let chain = this.chains.get(key);
    if (!chain) {
      // Requests may name any model: keep the memo small.
      if (this.chains.size >= 256) this.chains.clear();
      chain = this.build(requestModel, role, localOnly);
      this.chains.set(key, chain);
      chain.catch(() => this.chains.delete(key));
    }
    return chain;
  }

  /**
   * The last resort after the chain failed: the model store's newest model run by the embedded engine, as one more
   * link (undefined when `router.last_resort` or `cloud_llm.fallback_to_local` turn it off, the store is empty, or
   * the chain already tried that file).
   */
  async lastResort(chain: readonly Link[]): Promise<(Link & { stored: LastResortModel }) | undefined> {
    if (!lastResortEnabled(this.config)) return undefined;
    const tried = chain.filter((l) => l.ref.kind === 'llamacpp').map((l) => l.ref.model);
    const stored = await findLastResort(this.factory.storeDir, tried);
    if (!stored) return undefined;
    const link = await this.link(`llamacpp/${stored.name}`, 'router.last_resort');
    // Local by nature (in-process), so local-only requests and privacy.local_only allow it.
    return { ...link, remote: false, lastResort: true, stored };
  }

  /** cloud → the role's local model → models.fallback, de-duplicated; remote ones dropped when local-only. */
  private async build(requestModel: string | undefined, role: RouterRole, localOnly: boolean): Promise<Link[]> {
    const { cloud_llm, models } = this.config;
    const wanted: [string, string][] = [];
    if (requestModel) wanted.push([requestModel, 'request.model']);
    else if (cloud_llm.enabled) wanted.push([this.factory.cloudModel, 'cloud_llm.model']);
    if (wanted.length === 0 || !cloud_llm.enabled || cloud_llm.fallback_to_local) {
      wanted.push([models[role], `models.${role}`], [models.fallback, 'models.fallback']);
    }
    const links: Link[] = [];
    const withheld: string[] = [];
    for (const [modelString, where] of wanted) {
      if (links.some((l) => l.modelString === modelString)) continue;
      const link = await this.link(modelString, where);
      if (localOnly && link.remote) withheld.push(modelString);
      else links.push(link);
    }
    if (links.length === 0) {
      throw new RouterError({
        code: 'NO_PROVIDER',
        message: `no model can serve this request: local-only withholds ${withheld.join(', ')} and no local model is left`,
        fix: 'set a local model under models: (e.g. ollama_chat/qwen2.5-coder:7b), or allow the cloud for this request',
        attempts: [],
      });
    }
    return links;
  }

  /**
   * One model string as a link of a chain: its provider, or why it cannot be used (a skip with its fix); for a model
   * string with deployments, a group of one link per deployment.
   */
  private async link(modelString: string, where: string): Promise<Link> {
    const model = this.factory.resolve(modelString, where);
    const deployments = this.factory.deploymentsOf(modelString);
    if (deployments.length === 0) return this.providerLink(model);
    const group = await Promise.all(deployments.map((d) => this.providerLink(d)));
    return { ...model, remote: group.some((l) => l.remote), group };
  }

  private async providerLink(model: ResolvedModel): Promise<Link> {
    if (model.unavailable) return { ...model, remote: model.cloud || model.ref.kind === 'openai-compatible' };
    try {
      const provider = await this.factory.provider(model);
      return { ...model, provider, remote: model.cloud || provider.remote };
    } catch (error) {
      const unavailable = ProviderError.isInstance(error)
        ? error
        : new ProviderError({
            code: 'NOT_INSTALLED',
            message: `cannot create the ${model.providerId} provider: ${attemptError(error).message}`,
            provider: model.providerId,
            model: model.ref.model,
            cause: error,
          });
      return { ...model, unavailable, remote: model.cloud };
    }
  }
}
