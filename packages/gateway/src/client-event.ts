import { z } from 'zod';

/**
 * Events WebSocket clients publish must be typed `client.<name>` (`client.textgrad.generation`): every other type
 * (`request.end`, which /audit serves as the audit trail, `router.*`, `health.*`) is the server's own, and a client
 * must not be able to forge one.
 */
const clientEventPrefix = 'client.';

const clientEventSchema = z.looseObject({
  type: z
    .string({ error: 'a published event needs a string "type"' })
    .refine((type) => type.startsWith(clientEventPrefix) && type.length > clientEventPrefix.length, {
      error: (issue) =>
        `clients may only publish "${clientEventPrefix}<name>" events, not ${JSON.stringify(issue.input)}`,
    }),
});

type ClientEventParse = { ok: true; type: string; payload: Record<string, unknown> } | { ok: false; message: string };

/**
 * One WebSocket message as an event to publish. A `ts` the client sent is dropped: the bus stamps the time, so a
 * client cannot back- or forward-date what it reports.
 */
export function parseClientEvent(data: string): ClientEventParse {
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return { ok: false, message: 'messages must be JSON objects' };
  }
  const result = clientEventSchema.safeParse(message);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
    return { ok: false, message: `${path}${issue?.message ?? 'invalid event'}` };
  }
  const { type, ts: _ts, ...payload } = result.data;
  return { ok: true, type, payload };
}
