/** One attempt to embed texts with one model. */
export interface EmbeddingProviderRequest {
  /** The model name as the provider knows it (`nomic-embed-text`, `text-embedding-3-small`, a GGUF path). */
  model: string;
  /** The texts, at least one, none empty. */
  input: string[];
  /** The vector length asked for; providers pass it on where the API takes it. */
  dimensions?: number;
  /**
   * `false`: refuse an input longer than the model's context rather than cut it (Ollama's `truncate`). OpenAI-compatible
   * servers and the embedded engine always refuse; Ollama cuts unless this is false.
   */
  truncate?: boolean;
  signal: AbortSignal;
}

export interface EmbeddingProviderResult {
  /** One vector per input, in input order. */
  embeddings: number[][];
  /** Input tokens as the upstream counted them; 0 when it does not say (Ollama's legacy /api/embeddings). */
  inputTokens: number;
}

/** A backend that turns texts into vectors. Every failure is a `ProviderError`. */
export interface EmbeddingProvider {
  readonly id: string;
  /** True when requests leave this machine. */
  readonly remote: boolean;
  embed(request: EmbeddingProviderRequest): Promise<EmbeddingProviderResult>;
  close?(): Promise<void>;
}

/** A vector scaled to unit length (cosine-ready), as Ollama's /api/embed and OpenAI return them. */
export function normalizeVector(vector: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += (vector[i] ?? 0) ** 2;
  const norm = Math.sqrt(sum);
  return Array.from(vector, (v) => (norm === 0 ? v : v / norm));
}
