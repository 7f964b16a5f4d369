import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a model endpoint's request used: reported by the endpoint, settled against the request's key. */
interface ServedUsage {
  /** The model string that answered (`minimax/MiniMax-M2`), as priced. */
  model: string | undefined;
  inputTokens: number;
  outputTokens: number;
}

type Settle = (usage: ServedUsage | undefined) => void;
const slot = Symbol.for('unity.gateway.settleUsage');
type WithSlot = ServerResponse<IncomingMessage> & { [slot]?: Settle };

/**
 * Call `settle` once with what the response's request used: as soon as the endpoint reports it (before the client can
 * send its next request), else with nothing when the response closes (a refusal, a bad body, a dropped client).
 */
export function onServedUsage(response: ServerResponse<IncomingMessage>, settle: Settle): void {
  let settled = false;
  const once: Settle = (usage) => {
    if (settled) return;
    settled = true;
    settle(usage);
  };
  (response as WithSlot)[slot] = once;
  response.once('close', () => once(undefined));
}

/** Report what the request used (a no-op on a request without a key to settle). */
export function recordServedUsage(response: ServerResponse<IncomingMessage>, usage: ServedUsage): void {
  (response as WithSlot)[slot]?.(usage);
}
