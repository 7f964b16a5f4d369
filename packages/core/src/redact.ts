/** What a redacted secret is replaced with. */
export const redactedMark = '[redacted]';

/**
 * Secrets shorter than this are not searched for in text: a two-letter "key" would erase ordinary words, and is no
 * secret anyway. Keys of 4 characters and more are redacted wherever they appear.
 */
export const minSecretLength = 4;

/**
 * `scheme://user:password@` (the password may hold `@`: a URL's authority ends at its last one) and
 * `scheme://token@`, anywhere in a text.
 */
const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)(?:([^\s/?#@:"'<>\\]*):([^\s/?#"'<>\\]*)|([^\s/?#@:"'<>\\]+))@/gi;

/**
 * The text with the credentials of every URL in it redacted: `http://user:pass@host` → `http://user:[redacted]@host`,
 * `https://token@host` → `https://[redacted]@host`. Everything else is left as it is.
 */
export function redactUrl(text: string): string {
  return text.replace(urlCredentials, (_match, scheme: string, user?: string, _password?: string) =>
    user === undefined ? `${scheme}${redactedMark}@` : `${scheme}${user}:${redactedMark}@`,
  );
}

/**
 * The secrets a URL carries, to redact elsewhere: its password (as written and decoded) and, for a URL with a user
 * only, that user (a token). Empty for a URL without credentials or a string that is not a URL.
 */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const raw = parsed.password || parsed.username;
  if (!raw) return [];
  return unique([raw, safeDecode(raw)]);
}

/**
 * Every form a secret can take in a text: as is, JSON-escaped, URL-encoded (path and form encodings) and decoded.
 * Forms shorter than `minSecretLength` are left out.
 */
export function secretForms(secret: string): string[] {
  const forms = [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    encodeURI(secret),
    new URLSearchParams({ k: secret }).toString().slice(2),
    safeDecode(secret),
  ];
  // Percent-escapes in either case (%2F and %2f).
  for (const form of [...forms]) if (/%[0-9a-f]{2}/i.test(form)) forms.push(form.replace(/%[0-9a-f]{2}/gi, lower));
  return unique(forms).filter((form) => form.length >= minSecretLength);
}

/** Redacts URL credentials and a fixed set of secrets in texts and in JSON-like values. */
export class Redactor {
  private readonly forms: string[];

  /** `secrets`: values that must never appear (API keys, passwords); empty and too-short ones are ignored. */
  constructor(secrets: Iterable<string | undefined> = []) {
    const all = new Set<string>();
    for (const secret of secrets) if (secret) for (const form of secretForms(secret)) all.add(form);
    // Longest first, so that a key containing another is replaced whole.
    this.forms = [...all].sort((a, b) => b.length - a.length);
  }

  /** The text with URL credentials and every form of every secret replaced by `[redacted]`. */
  text(text: string): string {
    // Most strings of an event or a body are short words and numbers: they hold neither a URL nor a secret.
    let out = text.includes('://') ? redactUrl(text) : text;
    if (out.length < minSecretLength) return out;
    for (const form of this.forms) if (out.includes(form)) out = out.split(form).join(redactedMark);
    return out;
  }

  /**
   * A copy of a JSON-like value (objects, arrays, strings, numbers …) with every string (keys too) redacted; a value
   * without anything to redact is returned as it is. Errors become their redacted message.
   */
  value<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object' || depth > 64) return value;
    if (value instanceof Error) return this.text(value.message);
    if (Array.isArray(value)) {
      let changed = false;
      const out = value.map((item) => {
        const next = this.walk(item, depth + 1);
        if (next !== item) changed = true;
        return next;
      });
      return changed ? out : value;
    }
    // The copy is made only once something in the object changes: most values have nothing to redact.
    let out: Record<string, unknown> | undefined;
    const entries = Object.entries(value);
    for (let i = 0; i < entries.length; i++) {
      const [key, item] = entries[i] as [string, unknown];
      const nextKey = this.text(key);
      const next = this.walk(item, depth + 1);
      if (!out && (next !== item || nextKey !== key)) out = Object.fromEntries(entries.slice(0, i));
      // defineProperty, not assignment: a key named `__proto__` stays a key instead of replacing the prototype.
      if (out)
        Object.defineProperty(out, nextKey, { value: next, enumerable: true, writable: true, configurable: true });
    }
    return out ?? value;
  }
}

/** The text with URL credentials and the given secrets (in every form) redacted: `new Redactor(secrets).text(text)`. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined> = []): string {
  return new Redactor(secrets).text(text);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function lower(percentEscape: string): string {
  return percentEscape.toLowerCase();
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
