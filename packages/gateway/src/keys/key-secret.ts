import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every virtual key starts with this, so that secret scanners and people recognise one. */
const keyPrefix = 'uk-';

/** A new secret: `uk-` and 32 random bytes in base64url (256 bits). */
export function newSecret(): string {
  return keyPrefix + randomBytes(32).toString('base64url');
}

/**
 * sha256 of the secret, hex. A fast hash is right here and a password hash (bcrypt, argon2) is not: a password hash
 * slows down guessing a low-entropy secret, but these are 256 random bits that no amount of guessing reaches, and a
 * slow hash would cost every request tens of milliseconds. The store holds only this.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What lists show of a secret: enough to tell keys apart, far too little to guess the rest. */
export const displayPrefix = (secret: string) => `${secret.slice(0, keyPrefix.length + 6)}…`;

/** Compare two hashes in constant time (both are 64 hex characters). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export const newKeyId = () => `key_${randomBytes(8).toString('hex')}`;
