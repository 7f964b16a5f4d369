import { describe, expect, it } from 'vitest';
import { EvolutionError } from './errors';
import {
  createTextgradConfigSection,
  defaultJudgeRubric,
  evolutionSettings,
  parseModelChoice,
  textgradConfigSection,
} from './textgrad-config';

const routerPrefixes = ['minimax', 'openai', 'ollama_chat', 'ollama', 'llamacpp'];

function issueOf(value: unknown, section = textgradConfigSection) {
  const result = section.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be refused`);
  const issue = result.error.issues[0];
  return {
    path: issue?.path.join('.'),
    message: issue?.message,
    fix: (issue as { params?: { fix?: string } }).params?.fix,
  };
}

describe('textgradConfigSection', () => {
  it('defaults to the coding role for coder and judge, local only, an equal-weight judge with the default rubric', () => {
    const section = textgradConfigSection.parse(undefined);
    expect(section).toEqual({
      model_coder: 'coding',
      model_judge: 'coding',
      local_only: true,
      judge_rubric: defaultJudgeRubric,
      judge_weight: 0.5,
    });
    expect(evolutionSettings(section)).toEqual({
      coder: { role: 'coding' },
      judge: { role: 'coding' },
      localOnly: true,
      judgeRubric: defaultJudgeRubric,
      judgeWeight: 0.5,
    });
  });

  it("reads the seed's `ollama/qwen2.5-coder:7b` as that model string, and keeps ollama_chat/ ones as written", () => {
    const settings = evolutionSettings(
      textgradConfigSection.parse({ model_coder: 'ollama/qwen2.5-coder:7b', model_judge: 'ollama_chat/llama3.2:1b' }),
    );
    expect(settings.coder).toEqual({ model: 'ollama/qwen2.5-coder:7b' });
    expect(settings.judge).toEqual({ model: 'ollama_chat/llama3.2:1b' });
  });

  it('maps a bare Ollama name to the Ollama provider and a role name to that role', () => {
    const settings = evolutionSettings(
      textgradConfigSection.parse({ model_coder: 'qwen2.5-coder:7b', model_judge: 'reasoning', local_only: false }),
    );
    expect(settings.coder).toEqual({ model: 'ollama_chat/qwen2.5-coder:7b' });
    expect(settings.judge).toEqual({ role: 'reasoning' });
    expect(settings.localOnly).toBe(false);
  });

  it('names the field of a wrongly typed or unknown value', () => {
    expect(issueOf({ local_only: 'yes' })).toMatchObject({ path: 'local_only' });
    expect(issueOf({ judge_weight: 1.5 })).toMatchObject({ path: 'judge_weight' });
    expect(issueOf({ model_coders: 'coding' }).message).toContain('model_coders');
    expect(issueOf({ judge_rubric: '  ' })).toMatchObject({
      path: 'judge_rubric',
      message: 'expected a non-empty rubric',
    });
  });

  it('refuses a model that is neither a role, a model string nor an Ollama name, with the fix', () => {
    const issue = issueOf({ model_judge: 'qwen 2.5 coder' });
    expect(issue.path).toBe('model_judge');
    expect(issue.message).toContain('is neither a role');
    expect(issue.fix).toContain('ollama/qwen2.5-coder:7b');
  });

  it('refuses an unknown provider prefix only when given the known ones', () => {
    expect(textgradConfigSection.parse({ model_coder: 'olama/qwen2.5-coder:7b' }).model_coder).toBe(
      'olama/qwen2.5-coder:7b',
    );
    const issue = issueOf(
      { model_coder: 'olama/qwen2.5-coder:7b' },
      createTextgradConfigSection({ providers: routerPrefixes }),
    );
    expect(issue).toMatchObject({
      path: 'model_coder',
      message: 'unknown provider "olama" in "olama/qwen2.5-coder:7b"',
    });
    expect(issue.fix).toContain('ollama_chat');
  });
});

describe('parseModelChoice', () => {
  it('reads a flag value as the section reads a model', () => {
    expect(parseModelChoice('qwen2.5-coder:7b', '--judge')).toEqual({ model: 'ollama_chat/qwen2.5-coder:7b' });
    expect(parseModelChoice('fallback', '--judge')).toEqual({ role: 'fallback' });
  });

  it('throws INVALID_OPTIONS naming where the bad value came from', () => {
    let error: unknown;
    try {
      parseModelChoice('nope/', '--judge', { providers: routerPrefixes });
    } catch (caught) {
      error = caught;
    }
    expect(EvolutionError.isInstance(error)).toBe(true);
    expect((error as EvolutionError).code).toBe('INVALID_OPTIONS');
    expect((error as EvolutionError).message).toMatch(/^--judge: "nope\/" is neither a role/);
  });
});
