import type { z } from 'zod';
import { GatewayError } from './errors';

/** Parse a request body with a zod schema; a failure becomes a 400 naming the first offending field. */
export function validateBody<S extends z.ZodType>(schema: S, body: unknown, where: string): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
  throw new GatewayError({
    code: 'INVALID_REQUEST',
    status: 400,
    param: path,
    message: `${where}: ${path}: ${issue?.message ?? 'invalid'}`,
    fix: 'send a body in the shape the endpoint documents',
  });
}
