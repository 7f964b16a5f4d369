import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, parseToolArguments, toToolDefinition } from './define-tool';
import { ToolError } from './errors';

const readFile = defineTool({
  name: 'read_file',
  description: 'Read a text file',
  schema: z.object({ path: z.string().describe('file path'), offset: z.number().int().min(1).optional() }),
  execute: async ({ path }) => path,
});

describe('defineTool', () => {
  it('turns the zod schema into a JSON Schema tool definition', () => {
    const definition = toToolDefinition(readFile);
    expect(definition.name).toBe('read_file');
    expect(definition.parameters).toMatchObject({
      type: 'object',
      properties: { path: { type: 'string', description: 'file path' } },
      required: ['path'],
    });
    expect(definition.parameters).not.toHaveProperty('$schema');
  });

  it('names the wrong field, what was expected and what came', () => {
    const error = (() => {
      try {
        parseToolArguments(readFile, { path: 42 });
      } catch (e) {
        return e;
      }
    })();
    expect(ToolError.isInstance(error)).toBe(true);
    expect((error as ToolError).code).toBe('INVALID_ARGUMENTS');
    expect((error as ToolError).message).toContain('read_file: invalid arguments: path: expected string, got number');
  });

  it('says a required field is missing', () => {
    expect(() => parseToolArguments(readFile, {})).toThrow('path: expected string, got nothing (it is required)');
  });

  it('returns the parsed arguments when they are valid', () => {
    expect(parseToolArguments(readFile, { path: 'a.txt', offset: 3 })).toEqual({ path: 'a.txt', offset: 3 });
  });
});
