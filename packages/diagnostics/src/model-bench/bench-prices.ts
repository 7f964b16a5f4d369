import type { PriceTable } from '@unity/core';

/** A model's price in US dollars per million tokens: the unit and the names of the config's `server.prices`. */
export interface BenchPrice {
  input_per_mtok: number;
  output_per_mtok: number;
}

/** Prices by model string, by the model name answers give, or `*` for any other model. */
export type BenchPrices = Readonly<Record<string, BenchPrice>>;

export interface BenchPriceSources {
  /** `server.prices`: per million tokens, by model string. */
  serverPrices?: BenchPrices;
  /**
   * `agent.budget.prices` as a run budget holds them (`agentSettingsFromConfig(config).budget?.prices`: per 1000
   * tokens, by model name); over `serverPrices` for the same name.
   */
  agentPrices?: PriceTable;
  /** One price for every model (`unity bench models --price-per-mtok`), in place of the others. */
  everyModel?: BenchPrice;
}

/**
 * The bench's prices, per million tokens, from what the config and the command give: `everyModel` alone when given,
 * else `serverPrices` with `agentPrices` over them. Undefined when there is none: every cost is then null.
 */
export function benchPrices(sources: BenchPriceSources): BenchPrices | undefined {
  if (sources.everyModel) return { '*': sources.everyModel };
  const prices: Record<string, BenchPrice> = Object.create(null);
  for (const [model, price] of Object.entries(sources.serverPrices ?? {})) {
    prices[model] = { input_per_mtok: price.input_per_mtok, output_per_mtok: price.output_per_mtok };
  }
  for (const [model, price] of Object.entries(sources.agentPrices ?? {})) {
    prices[model] = { input_per_mtok: price.inputPer1k * 1000, output_per_mtok: price.outputPer1k * 1000 };
  }
  return Object.keys(prices).length > 0 ? prices : undefined;
}

/** The price of a model: by its model string, else by the name its answer gave, else `*`. */
export function benchPriceOf(
  prices: BenchPrices | undefined,
  modelString: string,
  answered: string | undefined,
): BenchPrice | undefined {
  if (!prices) return undefined;
  const own = (name: string | undefined) =>
    name !== undefined && Object.hasOwn(prices, name) ? prices[name] : undefined;
  return own(modelString) ?? own(answered) ?? own('*');
}

/** US dollars for these tokens at this price. */
export function benchCostUsd(price: BenchPrice, inputTokens: number, outputTokens: number): number {
  return (inputTokens * price.input_per_mtok + outputTokens * price.output_per_mtok) / 1_000_000;
}
