// An upstream that breaks off after the first tokens, when the gateway can no longer fall back (the client has some
// of the answer): every client must raise the gateway's error, never return the truncated text as if complete. Each
// test has a gateway of its own, since the failures open the cloud's circuit.

import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { ChatOpenAI } from '@langchain/openai';
import { streamText } from 'ai';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { type Gateway, startGateway } from './__tests__/gateway';
import { works } from './matrix/cells';

let g: Gateway;

beforeEach(async () => {
  g = await startGateway();
  g.cloud.enqueue({ fault: 'cut-after-chunks', chunks: 2, reply: { text: 'one two three four five' } });
});
afterEach(() => g.close());

const brokeOff = /broke off after it had started/;
const openaiClient = () => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
const chat = (fields: ConstructorParameters<typeof ChatOpenAI>[0] = {}) =>
  new ChatOpenAI({
    model: 'unity',
    apiKey: 'unused-on-loopback',
    configuration: { baseURL: `${g.url}/v1` },
    maxRetries: 0,
    ...fields,
  });

/** Read an AI SDK stream to its end, throwing the error part it carries. */
async function readAll(model: Parameters<typeof streamText>[0]['model']): Promise<string> {
  const r = streamText({ model, prompt: 'x', maxRetries: 0, onError: () => {} });
  let text = '';
  for await (const part of r.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'error') throw part.error;
  }
  return text;
}

describe('an upstream stream cut after its first tokens', () => {
  works('openai', 'stream cut by the upstream', 'a chat.completions stream throws the gateway’s error', async () => {
    const read = async () => {
      const stream = await openaiClient().chat.completions.create({
        model: 'unity',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      for await (const _ of stream);
    };
    await expect(read()).rejects.toThrow(brokeOff);
  });

  works('openai', 'stream cut by the upstream', 'responses.stream rejects with the gateway’s error', async () => {
    await expect(openaiClient().responses.stream({ model: 'unity', input: 'x' }).finalResponse()).rejects.toThrow(
      brokeOff,
    );
  });

  works('ai-sdk', 'stream cut by the upstream', 'streamText with openai.chat() yields an error part', async () => {
    const openai = createOpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback' });
    await expect(readAll(openai.chat('unity'))).rejects.toThrow(brokeOff);
  });

  works(
    'ai-sdk',
    'stream cut by the upstream',
    'streamText with openai(…) (Responses) yields an error part',
    async () => {
      const openai = createOpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused-on-loopback' });
      await expect(readAll(openai('unity'))).rejects.toThrow(brokeOff);
    },
  );

  works('langchain', 'stream cut by the upstream', 'ChatOpenAI.stream throws the gateway’s error', async () => {
    const read = async () => {
      for await (const _ of await chat().stream('x'));
    };
    await expect(read()).rejects.toThrow(brokeOff);
  });

  works('langchain', 'stream cut by the upstream', 'ChatOpenAI({useResponsesApi}).stream throws it too', async () => {
    const read = async () => {
      for await (const _ of await chat({ useResponsesApi: true }).stream('x'));
    };
    await expect(read()).rejects.toThrow(brokeOff);
  });

  works('ollama', 'stream cut by the upstream', 'a chat stream throws the gateway’s error line', async () => {
    const read = async () => {
      const stream = await new Ollama({ host: g.url }).chat({
        model: 'unity',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      for await (const _ of stream);
    };
    await expect(read()).rejects.toThrow(brokeOff);
  });

  works('anthropic', 'stream cut by the upstream', 'messages.stream rejects with the error event', async () => {
    const client = new Anthropic({ baseURL: g.url, apiKey: 'unused-on-loopback', maxRetries: 0 });
    const stream = client.messages.stream({
      model: 'unity',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'x' }],
    });
    await expect(stream.finalMessage()).rejects.toThrow(brokeOff);
  });
});
