import { z } from 'zod';
import { fetchJson, type WebSearchProvider, type WebSearchResult } from './search-provider';

export interface SearxngOptions {
  /** The instance's base URL, e.g. http://127.0.0.1:8888 (its settings must enable the json format). */
  baseUrl: string;
  timeoutMs?: number;
}

const answer = z.object({
  results: z.array(z.object({ title: z.string().default(''), url: z.string(), content: z.string().nullish() })),
});

/** SearXNG's JSON API: `GET /search?format=json&q=…`. */
export class SearxngProvider implements WebSearchProvider {
  readonly name = 'SearXNG';
  constructor(private readonly options: SearxngOptions) {}

  async search(query: string, { max, signal }: { max: number; signal?: AbortSignal }): Promise<WebSearchResult[]> {
    const url = new URL(
      'search',
      this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`,
    );
    url.searchParams.set('q', query);
    url.searchParams.set('format', 'json');
    const data = await fetchJson(this.name, url, {
      timeoutMs: this.options.timeoutMs ?? 10_000,
      signal,
      schema: answer,
    });
    return data.results.slice(0, max).map((r) => ({ title: r.title, url: r.url, snippet: r.content ?? '' }));
  }
}
