import { RouterError } from '../errors';
import type { RouterRequest, RouterResponse, RouterStreamEvent } from '../router-types';
import { type EnsembleStrategy, ensemblePrefix } from './ensemble-config';
import { type EnsembleHost, EnsembleRun } from './ensemble-run';
import { fuse } from './fuse';
import { judge } from './judge';
import { LatencyWindow } from './latency-window';
import { race } from './race';
import { vote } from './vote';

const strategies: Record<EnsembleStrategy, (run: EnsembleRun) => AsyncGenerator<RouterStreamEvent, void>> = {
  vote,
  judge,
  fuse,
  race,
};

/**
 * Answers requests for `ensemble/<name>` (the config's `ensembles:`): each member is asked through the router's own
 * `chat`/`stream`, so each keeps its fallback chain, retries and circuit breakers; the strategy decides. One per
 * router, which keeps the members' recent times to first token for hedging.
 */
export class EnsembleRunner {
  private readonly latencies = new LatencyWindow();

  constructor(private readonly host: EnsembleHost) {}

  async chat(request: RouterRequest): Promise<RouterResponse> {
    for await (const event of this.run(request, 'chat')) {
      if (event.type === 'finish') return event.response;
      if (event.type === 'error') throw event.error;
    }
    /* c8 ignore next */
    throw new Error('the ensemble ended without an answer (a bug)');
  }

  /** As `Router.stream`: a failure before anything was streamed throws; after it, one `error` event ends the stream. */
  stream(request: RouterRequest): AsyncIterable<RouterStreamEvent> {
    return { [Symbol.asyncIterator]: () => this.run(request, 'stream') };
  }

  private async *run(request: RouterRequest, kind: 'chat' | 'stream'): AsyncGenerator<RouterStreamEvent, void> {
    const model = request.model ?? '';
    const name = model.slice(ensemblePrefix.length);
    const ensembles = this.host.config.ensembles ?? {};
    const settings = Object.hasOwn(ensembles, name) ? ensembles[name] : undefined;
    if (!settings) {
      const known = Object.keys(ensembles).map((n) => `${ensemblePrefix}${n}`);
      throw new RouterError({
        code: 'INVALID_REQUEST',
        param: 'model',
        message: `model "${model}" names no ensemble of the config; ${known.length > 0 ? `known: ${known.join(', ')}` : 'the config has no ensembles: section'}`,
        fix: `define it under ensembles.${name || '<name>'} in the config (members and strategy), or name one of the known ensembles`,
        attempts: [],
      });
    }
    if (request.signal?.aborted) {
      throw new RouterError({
        code: 'ABORTED',
        message: 'the request was aborted by the caller',
        attempts: [],
        cause: request.signal.reason,
      });
    }
    const run = new EnsembleRun(this.host, name, settings, request, kind, this.latencies);
    try {
      yield* strategies[settings.strategy](run);
    } finally {
      run.dispose();
    }
  }
}
