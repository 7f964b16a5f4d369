import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../config';
import { ConfigError } from '../errors';
import { ensembleModelStrings, isEnsembleModel } from './ensemble-config';

function configError(yaml: string): ConfigError {
  try {
    parseConfig(yaml, 'system.yaml');
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const ensemble = (lines: string[]) => `ensembles:\n  maths:\n${lines.map((l) => `    ${l}`).join('\n')}\n`;

describe('the ensembles: section', () => {
  it('is empty by default, and the seed’s defaults stay valid', () => {
    expect(defaultConfig.ensembles).toEqual({});
  });

  it('parses each strategy with its options, and fills vote’s defaults', () => {
    const config = parseConfig(
      [
        'ensembles:',
        '  maths:',
        '    members: [minimax/MiniMax-M2, reasoning]',
        '    strategy: vote',
        '  sampled:',
        '    members: [ollama_chat/qwen2.5-coder:7b]',
        '    strategy: vote',
        '    samples: 5',
        '    extract: last_number',
        '    min_answers: 3',
        '    concurrency: 2',
        '  best:',
        '    members: [minimax/MiniMax-M2, coding]',
        '    strategy: judge',
        '    judge: reasoning',
        '    prices: { minimax/MiniMax-M2: { input_per_mtok: 0.3, output_per_mtok: 1.2 } }',
        '  merged: { members: [reasoning, coding], strategy: fuse, fuser: minimax/MiniMax-M2 }',
        '  fast: { members: [minimax/MiniMax-M2, fallback], strategy: race, hedge: p95, hedge_after_ms: 400 }',
        '',
      ].join('\n'),
      'system.yaml',
    );
    expect(config.ensembles.maths).toEqual({
      members: ['minimax/MiniMax-M2', 'reasoning'],
      strategy: 'vote',
      samples: 1,
      extract: 'last_line',
      min_answers: 1,
    });
    expect(config.ensembles.sampled).toMatchObject({
      samples: 5,
      extract: 'last_number',
      min_answers: 3,
      concurrency: 2,
    });
    expect(config.ensembles.best).toMatchObject({
      judge: 'reasoning',
      prices: { 'minimax/MiniMax-M2': { input_per_mtok: 0.3 } },
    });
    expect(config.ensembles.merged?.fuser).toBe('minimax/MiniMax-M2');
    expect(config.ensembles.fast).toMatchObject({ hedge: 'p95', hedge_after_ms: 400 });
  });

  it('names the line of an unknown key and lists the known ones', () => {
    const error = configError(ensemble(['members: [reasoning, coding]', 'strategy: vote', 'majority: 2']));
    expect(error.message).toContain('system.yaml:5: ensembles.maths.majority: unknown key majority');
    expect(error.fix).toContain('known keys: members, strategy, concurrency');
  });

  it('refuses an option of another strategy, naming the strategy it belongs to', () => {
    const error = configError(ensemble(['members: [reasoning, coding]', 'strategy: vote', 'judge: reasoning']));
    expect(error.message).toContain(
      "system.yaml:5: ensembles.maths.judge: judge is an option of strategy judge, and this ensemble's strategy is vote",
    );
    expect(error.fix).toBe('remove judge, or set strategy: judge');
  });

  it('refuses a judge ensemble without a judge, and a fuse ensemble without a fuser', () => {
    expect(configError(ensemble(['members: [reasoning, coding]', 'strategy: judge'])).message).toContain(
      'ensembles.maths.judge: strategy judge needs a judge',
    );
    const fuse = configError(ensemble(['members: [reasoning, coding]', 'strategy: fuse']));
    expect(fuse.message).toContain('ensembles.maths.fuser: strategy fuse needs a fuser');
    expect(fuse.fix).toContain('fuser: reasoning');
  });

  it('refuses a member with an unknown provider at its line, with the known providers and the roles', () => {
    const error = configError(ensemble(['members: [reasoning, anthropic/claude]', 'strategy: race']));
    expect(error.message).toContain('system.yaml:3: ensembles.maths.members.1: unknown provider "anthropic"');
    expect(error.fix).toContain('ollama_chat');
    expect(error.fix).toContain('reasoning, coding, fallback');
  });

  it('refuses an ensemble as a member', () => {
    const error = configError(ensemble(['members: [reasoning, ensemble/other]', 'strategy: race']));
    expect(error.message).toContain('ensembles.maths.members.1: "ensemble/other" is an ensemble');
  });

  it('refuses a quorum that can never be reached, and a vote of one answer', () => {
    const quorum = configError(ensemble(['members: [reasoning, coding]', 'strategy: vote', 'min_answers: 3']));
    expect(quorum.message).toContain('ensembles.maths.min_answers: 3 answers can never be reached');
    expect(quorum.fix).toBe('set min_answers to at most 2, or add members or samples');
    const single = configError(ensemble(['members: [reasoning]', 'strategy: vote']));
    expect(single.message).toContain('ensembles.maths.members: a vote of one answer decides nothing');
  });

  it('refuses a race of one member, a strategy it does not know, and a name that cannot follow ensemble/', () => {
    expect(configError(ensemble(['members: [reasoning]', 'strategy: race'])).message).toContain(
      'ensembles.maths.members: strategy race needs two or more members',
    );
    expect(configError(ensemble(['members: [reasoning, coding]', 'strategy: average'])).message).toContain(
      'ensembles.maths.strategy: expected one of "vote", "judge", "fuse", "race", got "average"',
    );
    const name = configError('ensembles:\n  "a/b": { members: [reasoning, coding], strategy: race }\n');
    expect(name.message).toContain('ensembles.a/b: "a/b" cannot be an ensemble\'s name');
  });

  it('refuses a hedge percentile it does not know', () => {
    const error = configError(ensemble(['members: [reasoning, coding]', 'strategy: race', 'hedge: p42']));
    expect(error.message).toContain('ensembles.maths.hedge: expected one of "p50", "p90", "p95", "p99", got "p42"');
  });
});

describe('ensemble model names', () => {
  it('recognises ensemble/<name> only', () => {
    expect(isEnsembleModel('ensemble/maths')).toBe(true);
    expect(isEnsembleModel('ollama_chat/ensemble')).toBe(false);
    expect(isEnsembleModel(undefined)).toBe(false);
  });

  it('lists the model strings an ensemble may call, roles resolved, judge last, without repeats', () => {
    const models = { reasoning: 'ollama_chat/qwen2.5-coder:7b', coding: 'ollama_chat/qwen2.5-coder:7b' };
    expect(
      ensembleModelStrings({ members: ['minimax/MiniMax-M2', 'reasoning', 'coding'], judge: 'openai/gpt-4o' }, models),
    ).toEqual(['minimax/MiniMax-M2', 'ollama_chat/qwen2.5-coder:7b', 'openai/gpt-4o']);
  });
});
