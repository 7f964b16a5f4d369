import { z } from 'zod';
import { ConfigError } from './errors';
import { parseModelString } from './model-string';

/**
 * The seed's embedding model: nomic-embed-text through the local Ollama. Local, so that text sent for indexing never
 * leaves the machine unless the config says so (as `privacy.local_only` promises for chat); small (137M parameters,
 * about 270 MB) and fast on a CPU; 768 dimensions, shortened on request (it is Matryoshka-trained); 8192 tokens of
 * context; and Ollama's most pulled embedding model. The seed's cloud, MiniMax, has no OpenAI-compatible embeddings
 * API to put before it.
 */
export const defaultEmbeddingModel = 'ollama/nomic-embed-text';

/** A model string that can embed: `openai/<id>`, `ollama/<name>` (or `ollama_chat/`), `llamacpp/<file or name>`. */
const embeddingModelString = z.string().superRefine((value, ctx) => {
  try {
    const ref = parseModelString(value);
    if (ref.prefix === 'minimax') {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}": MiniMax has no OpenAI-compatible embeddings API`,
        params: {
          fix: 'use openai/<model> (with cloud_llm.base_url for a compatible server), ollama/<model> or llamacpp/<model>',
        },
      });
    }
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message.replace(/^model: /, ''), params: { fix: error.fix } });
  }
});

/**
 * `models.embedding`: the embedding chain, one model string or a list tried in order (fallback as for chat: retries,
 * circuit breakers, Retry-After). Models of a chain give vectors of different spaces: only list models whose vectors
 * you may mix, or read the answering `model` before storing a vector.
 */
export const embeddingModelsSchema = z
  .union([embeddingModelString, z.array(embeddingModelString).min(1)])
  .default(defaultEmbeddingModel);

/** `models.embedding` as a list. */
export function embeddingChainOf(config: { models: { embedding: string | readonly string[] } }): string[] {
  const value = config.models.embedding;
  return typeof value === 'string' ? [value] : [...value];
}
