import { describe, expect, it } from 'vitest';
import { builtinDomains } from './builtin-domains';
import { domainPresetSchema } from './domain-preset';
import { agentFromDomain, spawnDomain } from './spawn-domain';

const research = builtinDomains.find((d) => d.name === 'research')!;
const coding = builtinDomains.find((d) => d.name === 'implementation-heavy')!;

describe('spawnDomain', () => {
  it('keeps only the allowed tools that exist, and lists the missing ones', () => {
    const agent = spawnDomain(research, { availableTools: ['read_file', 'execute_command', 'web_search'] });
    expect(agent.tools).toEqual(['web_search', 'read_file']);
    expect(agent.missingTools).toEqual(['list_files', 'search_files', 'memory_query']);
  });

  it('accepts tool definitions as the available tools', () => {
    const agent = spawnDomain(coding, { availableTools: [{ name: 'read_file' }, { name: 'write_file' }] });
    expect(agent.tools).toEqual(['read_file', 'write_file']);
  });

  it('resolves a role preference to a router role', () => {
    expect(spawnDomain(research, { availableTools: [] }).model).toEqual({ kind: 'role', role: 'reasoning' });
  });

  it('keeps a model-string preference as an explicit model', () => {
    expect(spawnDomain(coding, { availableTools: [] }).model).toEqual({
      kind: 'model',
      model: 'ollama_chat/qwen2.5-coder:7b',
    });
  });

  it('carries the prompt, temperature and limits of the preset', () => {
    const preset = domainPresetSchema.parse({
      name: 'sql',
      description: 'SQL',
      model: 'coding',
      systemPrompt: 'Write SQL.',
      temperature: 0.1,
      limits: { maxIterations: 20, wallTimeSeconds: 60 },
    });
    expect(spawnDomain(preset, { availableTools: [] })).toEqual({
      domain: 'sql',
      model: { kind: 'role', role: 'coding' },
      tools: [],
      missingTools: [],
      systemPrompt: 'Write SQL.',
      temperature: 0.1,
      limits: { maxIterations: 20, convergenceWarnings: [50, 100, 200, 500], wallTimeSeconds: 60 },
    });
  });

  it('gives the agent its own copy of the limits', () => {
    const agent = spawnDomain(coding, { availableTools: [] });
    agent.limits.convergenceWarnings.push(9999);
    expect(coding.limits.convergenceWarnings).toEqual([50, 100, 200, 500]);
  });
});

describe('agentFromDomain', () => {
  const reply = (model: string) => ({
    content: model,
    toolCalls: [],
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    finishReason: 'stop' as const,
    model,
  });
  const calls: string[] = [];
  const models = {
    forRole: (role: string) => ({
      chat: async () => {
        calls.push(`role:${role}`);
        return reply(role);
      },
    }),
    chat: async (request: { model: string }) => {
      calls.push(`model:${request.model}`);
      return reply(request.model);
    },
  };

  it('binds a role preset to the router role, and turns the limits into the loop’s options', async () => {
    expect(research.model).toBe('reasoning');
    const agent = agentFromDomain(research, { availableTools: ['read_file', 'write_file'], models });
    await agent.model.chat({ messages: [{ role: 'user', content: 'x' }] });
    expect(calls.at(-1)).toBe('role:reasoning');
    expect(agent.options).toMatchObject({
      system: research.systemPrompt,
      request: { temperature: research.temperature },
      maxIterations: research.limits.maxIterations,
      convergenceWarnings: research.limits.convergenceWarnings,
    });
    expect(agent.tools.every((t) => ['read_file', 'write_file'].includes(t))).toBe(true);
  });

  it('sends a model-string preset to that model, with its output cap and wall time', async () => {
    const preset = domainPresetSchema.parse({
      name: 'calc',
      description: 'Calculations',
      model: 'qwen2.5-coder:7b',
      systemPrompt: 'Compute.',
      limits: { maxOutputTokens: 512, wallTimeSeconds: 30 },
    });
    const agent = agentFromDomain(preset, { availableTools: [], models });
    await agent.model.chat({ messages: [{ role: 'user', content: 'x' }] });
    expect(calls.at(-1)).toBe('model:ollama_chat/qwen2.5-coder:7b');
    expect(agent.options.request.maxOutputTokens).toBe(512);
    expect(agent.options.budget).toEqual({ maxWallTimeMs: 30_000 });
  });
});
