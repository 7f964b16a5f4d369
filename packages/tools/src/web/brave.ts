import { z } from 'zod';
import { fetchJson, type WebSearchProvider, type WebSearchResult } from './search-provider';

export interface BraveOptions {
  apiKey: string;
  /** Default https://api.search.brave.com */
  baseUrl?: string;
  timeoutMs?: number;
}

const answer = z.object({
  web: z
    .object({
      results: z.array(z.object({ title: z.string().default(''), url: z.string(), description: z.string().nullish() })),
    })
    .optional(),
});

/** Brave Search: `GET /res/v1/web/search?q=…` with the `X-Subscription-Token` header. */
export class BraveProvider implements WebSearchProvider {
  readonly name = 'Brave Search';
  constructor(private readonly options: BraveOptions) {}

  async search(query: string, { max, signal }: { max: number; signal?: AbortSignal }): Promise<WebSearchResult[]> {
    const url = new URL('/res/v1/web/search', this.options.baseUrl ?? 'https://api.search.brave.com');
    url.searchParams.set('q', query);
    url.searchParams.set('count', String(Math.min(max, 20)));
    const data = await fetchJson(this.name, url, {
      headers: { 'x-subscription-token': this.options.apiKey },
      timeoutMs: this.options.timeoutMs ?? 10_000,
      signal,
      schema: answer,
    });
    return (data.web?.results ?? [])
      .slice(0, max)
      .map((r) => ({ title: r.title, url: r.url, snippet: r.description ?? '' }));
  }
}
