import { parseModelString } from '@unity/llm-router';

/** US dollars per million tokens (`server.prices`). */
export interface ModelPrice {
  input_per_mtok: number;
  output_per_mtok: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * List prices of the cloud models the seed and its examples name, per million tokens. Local models (Ollama, the
 * embedded engine) cost 0 whatever the table says. `server.prices` adds to and overrides these; `*` prices any other
 * cloud model.
 */
export const defaultPrices: PriceTable = {
  'minimax/MiniMax-M2': { input_per_mtok: 0.3, output_per_mtok: 1.2 },
  'openai/gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  'openai/gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 10 },
  'openai/gpt-4.1-mini': { input_per_mtok: 0.4, output_per_mtok: 1.6 },
};

const free: ModelPrice = { input_per_mtok: 0, output_per_mtok: 0 };

/** The price of a model string; local models are free, an unknown cloud model takes `*` or is free. */
export function priceOf(prices: PriceTable, modelString: string): ModelPrice {
  let local = false;
  try {
    local = parseModelString(modelString).kind !== 'openai-compatible';
  } catch {
    // not a model string (a cache hit's bare name): priced by the table alone
  }
  if (local) return free;
  return prices[modelString] ?? prices['*'] ?? free;
}

/** Micro-dollars of a call: a price per million tokens is a price in micro-dollars per token. */
export function costMicros(price: ModelPrice, inputTokens: number, outputTokens: number): number {
  return Math.ceil(inputTokens * price.input_per_mtok + outputTokens * price.output_per_mtok);
}

/** The dearest price of a chain (the request may be served by any of its models): the worst case to reserve. */
export function worstPrice(prices: PriceTable, chain: readonly string[]): ModelPrice {
  return chain.reduce<ModelPrice>((worst, model) => {
    const price = priceOf(prices, model);
    return {
      input_per_mtok: Math.max(worst.input_per_mtok, price.input_per_mtok),
      output_per_mtok: Math.max(worst.output_per_mtok, price.output_per_mtok),
    };
  }, free);
}
