// A request without an output cap to a local model gets the router's default cap (router.max_output_tokens, 4096),
// and an answer the cap cut is reported as cut in each client's own terms.

import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { ChatOpenAI } from '@langchain/openai';
import { generateText } from 'ai';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { type Gateway, localBodies, startGateway } from './__tests__/gateway';
import { works } from './matrix/cells';

let g: Gateway;

beforeAll(async () => {
  g = await startGateway();
});
afterAll(() => g.close());
beforeEach(() => {
  g.reset();
  g.local.enqueue({ text: 'a story that goes on and', finishReason: 'length' });
});

/** The local model was asked with the default cap, since the client sent none. */
const cappedAtDefault = () => expect(localBodies(g, 'chat')[0]).toMatchObject({ options: { num_predict: 4096 } });

describe('the default output cap on the local tier, and a cut answer reported as cut', () => {
  works('openai', 'output cap', "a local answer cut by the default cap has finish_reason 'length'", async () => {
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'story' }] });
    expect(r.choices[0]?.finish_reason).toBe('length');
    cappedAtDefault();
  });

  works('ai-sdk', 'output cap', "generateText reports finishReason 'length'", async () => {
    const openai = createOpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback' });
    const r = await generateText({ model: openai.chat('local'), prompt: 'story', maxRetries: 0 });
    expect(r.finishReason).toBe('length');
    cappedAtDefault();
  });

  works('langchain', 'output cap', "invoke reports finish_reason 'length' in response_metadata", async () => {
    const model = new ChatOpenAI({
      model: 'local',
      apiKey: 'unused-on-loopback',
      configuration: { baseURL: `${g.url}/v1` },
      maxRetries: 0,
    });
    const r = await model.invoke('story');
    expect(r.response_metadata.finish_reason).toBe('length');
    cappedAtDefault();
  });

  works('ollama', 'output cap', "chat reports done_reason 'length'", async () => {
    const r = await new Ollama({ host: g.url }).chat({
      model: 'qwen2.5-coder:7b',
      messages: [{ role: 'user', content: 'story' }],
    });
    expect(r.done_reason).toBe('length');
    cappedAtDefault();
  });

  works(
    'anthropic',
    'output cap',
    "messages.create reports stop_reason 'max_tokens' (its own max_tokens sent)",
    async () => {
      const client = new Anthropic({ baseURL: g.url, apiKey: 'unused-on-loopback', maxRetries: 0 });
      const r = await client.messages.create({
        model: 'local',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(r.stop_reason).toBe('max_tokens');
      expect(localBodies(g, 'chat')[0]).toMatchObject({ options: { num_predict: 64 } });
    },
  );
});
