import { describe, expect, it } from 'vitest';
import { Redactor, redactSecrets, redactUrl, secretForms, urlSecrets } from './redact';

describe('redactUrl', () => {
  it('redacts the password of a URL and keeps the user, host and path', () => {
    expect(redactUrl('cannot reach http://alice:s3cret@10.0.0.5:8080/v1 now')).toBe(
      'cannot reach http://alice:[redacted]@10.0.0.5:8080/v1 now',
    );
  });

  it('redacts a password that itself holds an @ up to the authority’s last one', () => {
    expect(redactUrl('https://bob:p@ss@host/x')).toBe('https://bob:[redacted]@host/x');
  });

  it('redacts a user-only token and every URL of a text', () => {
    expect(redactUrl('a https://tok3n@h1/ b redis://:pw@h2:6379 c')).toBe(
      'a https://[redacted]@h1/ b redis://:[redacted]@h2:6379 c',
    );
  });

  it('leaves a URL without credentials and an e-mail address alone', () => {
    const text = 'see http://127.0.0.1:11434/api and mail me@example.com';
    expect(redactUrl(text)).toBe(text);
  });
});

describe('urlSecrets', () => {
  it('returns the password as written and decoded', () => {
    expect(urlSecrets('http://u:p%40ss%2Fw0rd@host/')).toEqual(['p%40ss%2Fw0rd', 'p@ss/w0rd']);
  });

  it('returns nothing for a URL without credentials or a non-URL', () => {
    expect(urlSecrets('http://host/')).toEqual([]);
    expect(urlSecrets('not a url')).toEqual([]);
    expect(urlSecrets(undefined)).toEqual([]);
  });
});

describe('secretForms', () => {
  it('lists the raw, JSON-escaped, URL-encoded (both cases) and form-encoded forms', () => {
    const forms = secretForms('k/"y z');
    expect(forms).toEqual(
      expect.arrayContaining(['k/"y z', 'k/\\"y z', 'k%2F%22y%20z', 'k%2f%22y%20z', 'k%2F%22y+z', 'k/%22y%20z']),
    );
  });

  it('leaves out forms shorter than four characters', () => {
    expect(secretForms('abc')).toEqual([]);
  });
});

describe('Redactor', () => {
  const redactor = new Redactor(['sk-9', 'k3y/with+plus', undefined, '']);

  it('redacts a short key wherever it appears', () => {
    expect(redactor.text('Incorrect API key provided: sk-9.')).toBe('Incorrect API key provided: [redacted].');
  });

  it('redacts a URL-encoded key', () => {
    expect(redactor.text('GET /x?key=k3y%2Fwith%2Bplus')).toBe('GET /x?key=[redacted]');
    expect(redactor.text('GET /x?key=k3y%2fwith%2bplus')).toBe('GET /x?key=[redacted]');
  });

  it('redacts strings and keys deep inside a value and keeps the rest', () => {
    const value = { a: ['sk-9', 3, null], 'sk-9': { url: 'http://u:pw@h/' }, ok: true };
    expect(redactor.value(value)).toEqual({
      a: ['[redacted]', 3, null],
      '[redacted]': { url: 'http://u:[redacted]@h/' },
      ok: true,
    });
  });

  it('returns a value with nothing to redact as the same object', () => {
    const value = { a: ['x'], b: { c: 1 } };
    expect(redactor.value(value)).toBe(value);
  });

  it('redacts URL credentials even without secrets (redactSecrets)', () => {
    expect(redactSecrets('http://u:hunter22@h/')).toBe('http://u:[redacted]@h/');
  });
});

describe('redactUrl in JSON text', () => {
  it('stops at the closing quote of a JSON string', () => {
    expect(redactUrl('{"u":"http://a:b@h","x":"y@z"}')).toBe('{"u":"http://a:[redacted]@h","x":"y@z"}');
  });
});

describe('Redactor.value with hostile keys', () => {
  it('keeps a key named __proto__ as a key of the copy', () => {
    const value = JSON.parse('{"a":"key sk-secret-1234","__proto__":{"polluted":true}}') as Record<string, unknown>;
    const out = new Redactor(['sk-secret-1234']).value(value);
    expect(out.a).toBe('key [redacted]');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['a', '__proto__']);
  });
});
