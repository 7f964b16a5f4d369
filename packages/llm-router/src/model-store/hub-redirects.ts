/**
 * What a Hugging Face hub says of an LFS file on the redirect from its `resolve` URL to the CDN: `X-Linked-Size`,
 * `X-Linked-Etag` (the file's sha256, quoted) and `X-Repo-Commit` (the commit the revision resolved to).
 */
export interface HubFileInfo {
  size?: number;
  sha256?: string;
  commit?: string;
}

const MAX_REDIRECTS = 10;

/**
 * `fetch` that follows redirects itself so that the headers of each redirect can be read (fetch's own `follow` hides
 * them): the hub's file facts come from the first redirect that carries them. Like fetch, it drops `authorization`
 * when a redirect leaves the origin (a hub token is never sent to the CDN).
 */
export async function fetchFollowingRedirects(
  url: string,
  init: {
    headers: Record<string, string>;
    signal: AbortSignal;
    /** Called with what is known of the file before each redirect is followed: throw to stop there. */
    beforeFollow?: (hub: HubFileInfo) => void;
  },
): Promise<{ response: Response; hub: HubFileInfo }> {
  let current = new URL(url);
  let headers = init.headers;
  const hub: HubFileInfo = {};
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { headers, signal: init.signal, redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 308 || response.status === 304 || !location) {
      return { response, hub };
    }
    await response.body?.cancel();
    readHubHeaders(response.headers, hub);
    init.beforeFollow?.(hub);
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects, the last to ${location}`);
    const next = new URL(location, current);
    if (next.origin !== current.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
    }
    current = next;
  }
}

function readHubHeaders(headers: Headers, hub: HubFileInfo): void {
  const size = Number(headers.get('x-linked-size') ?? Number.NaN);
  if (hub.size === undefined && Number.isSafeInteger(size) && size >= 0) hub.size = size;
  // An LFS file's etag is its sha256; a small file kept in git has a git blob id (40 hex digits) instead: not a sha256.
  const etag = headers.get('x-linked-etag')?.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  if (hub.sha256 === undefined && etag && /^[0-9a-f]{64}$/.test(etag)) hub.sha256 = etag;
  const commit = headers.get('x-repo-commit');
  if (hub.commit === undefined && commit) hub.commit = commit;
}
