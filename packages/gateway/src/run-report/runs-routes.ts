import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors';
import type { EventBus } from '../event-bus';
import { callerOf } from '../keys/key-auth';
import { validateBody } from '../validate-body';
import { type RunEventBatch, runEventBatchSchema, runIdPattern } from './run-events';
import { RunStore, type RunStoreOptions } from './run-store';

interface RunsRoutesOptions extends RunStoreOptions {
  bus: EventBus;
}

/** The largest batch body accepted: 200 events of at most a few kilobytes each. */
const batchBodyLimit = 1024 * 1024;

function requireRunId(id: string): string {
  if (runIdPattern.test(id)) return id;
  throw new GatewayError({
    code: 'INVALID_REQUEST',
    status: 400,
    param: 'id',
    message: `"${id.slice(0, 120)}" is not a run id: expected 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    fix: 'let RunReporter choose the id, or give it one of that form',
  });
}

/** Who reports, as the key check found them: the run's owner (who may add to it) and the name shown. */
function reporterOf(request: FastifyRequest): { owner: string; name: string } {
  const caller = callerOf(request);
  if (caller.kind === 'virtual') return { owner: `key:${caller.record.id}`, name: caller.record.name };
  return { owner: caller.kind, name: caller.kind };
}

/**
 * Runs reported to the gateway (`RunReporter`): `POST /api/runs/:id/events` takes a batch (validated, 400 naming the
 * field; a run belongs to the key that reported it first, 403 for another), keeps it in a bounded in-memory list and
 * republishes each event on the bus as `run.<kind>.<type>` with the run's id, then `run.update` with the run's summary.
 * They go to the clients' ring of the bus, so that reports never push the gateway's own events (and /audit) out.
 * `GET /api/runs` lists the runs (most recently updated first); `GET /api/runs/:id` is one with its recent events.
 * Authentication is the gateway's hook: the master key everywhere; a virtual key may post events only.
 */
export function registerRunsRoutes(app: FastifyInstance, options: RunsRoutesOptions): RunStore {
  const store = new RunStore(options);
  const { bus } = options;

  app.post<{ Params: { id: string } }>('/api/runs/:id/events', { bodyLimit: batchBodyLimit }, async (request) => {
    const id = requireRunId(request.params.id);
    const batch: RunEventBatch = validateBody(runEventBatchSchema, request.body, `POST /api/runs/${id}/events`);
    const added = store.add(id, batch, reporterOf(request));
    if (!added.ok) {
      throw new GatewayError(
        added.reason === 'owner'
          ? {
              code: 'FORBIDDEN',
              status: 403,
              message: added.message,
              fix: 'report under the key that started the run, or under a new run id',
            }
          : {
              code: 'INVALID_REQUEST',
              status: 409,
              param: 'kind',
              message: added.message,
              fix: 'report under a new run id',
            },
      );
    }
    for (const event of added.accepted) {
      const { type, ts: _ts, ...fields } = event;
      bus.publishClient(`run.${batch.kind}.${type}`, { runId: id, ...fields });
    }
    bus.publishClient('run.update', { runId: id, run: added.run });
    return { run: id, accepted: added.accepted.length, duplicates: added.duplicates };
  });

  app.get('/api/runs', async () => ({ runs: store.list() }));

  app.get<{ Params: { id: string } }>('/api/runs/:id', async (request) => {
    const id = requireRunId(request.params.id);
    const found = store.get(id);
    if (!found) {
      throw new GatewayError({
        code: 'NOT_FOUND',
        status: 404,
        message: `no run ${id} on this gateway (it keeps the most recent runs, in memory)`,
        fix: 'list the runs it keeps with GET /api/runs; a run reported before the gateway restarted, or pushed out by newer ones, is gone',
      });
    }
    return found;
  });

  return store;
}
