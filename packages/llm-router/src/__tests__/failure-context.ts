import type { FailureContext } from '../providers/http-errors';

/** A failure context for the pure parts of the providers, with recognisable fixes. */
export const testContext: FailureContext = {
  provider: 'up',
  model: 'm1',
  endpoint: 'http://127.0.0.1:1/v1',
  fixes: { connection: 'start it', auth: 'set the key', modelNotFound: 'pull it' },
};
