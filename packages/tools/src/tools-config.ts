import { z } from 'zod';
import { ToolError } from './errors';

/** Settings of the tools a host reads from a JSON file (`unity mcp --config FILE`). Secrets come from elsewhere. */
export const toolsConfigSchema = z.strictObject({
  commandPolicy: z
    .strictObject({
      allow: z.array(z.string()).optional(),
      deny: z.array(z.string()).optional(),
      unknown: z.enum(['approve', 'deny']).optional(),
      scrubEnv: z.array(z.string()).optional(),
    })
    .optional(),
  webSearch: z
    .strictObject({
      searxngUrl: z.url().optional(),
      braveBaseUrl: z.url().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .optional(),
  memoryFile: z.string().optional(),
  callTimeoutMs: z.number().int().positive().optional(),
  maxResultChars: z.number().int().positive().optional(),
});

export type ToolsConfig = z.infer<typeof toolsConfigSchema>;

/** Parse a tools configuration file's text; errors name the file and the field. */
export function parseToolsConfig(text: string, file: string): ToolsConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ToolError({
      code: 'INVALID_CONFIG',
      message: `${file}: not valid JSON (${(error as Error).message})`,
      fix: 'fix the JSON syntax of the tools configuration file',
      cause: error,
    });
  }
  const result = toolsConfigSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new ToolError({
    code: 'INVALID_CONFIG',
    message: `${file}: invalid tools configuration: ${problems}`,
    fix: 'see the options in the @unity/tools README (commandPolicy, webSearch, memoryFile, callTimeoutMs, maxResultChars)',
  });
}
