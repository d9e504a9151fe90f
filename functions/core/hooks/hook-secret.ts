/**
 * The receiving route's only credential: a long random secret in the URL path the tenant admin configures
 * (合思 signs nothing it sends, and cannot sign SigV4). Compared in constant time over SHA-256 digests, so neither
 * the content nor the length of the expected secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Shorter secrets are refused at start: the URL is the whole defence (base64url of ≥ 32 random bytes is 43). */
export const MIN_HOOK_SECRET_CHARS = 32;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** True when `given` is the secret; false for a missing or wrong one (no hint which). */
export function hookSecretMatches(given: string | undefined, expected: string): boolean {
  if (expected.length < MIN_HOOK_SECRET_CHARS) return false;
  const ok = timingSafeEqual(digest(given ?? ''), digest(expected));
  return ok && given !== undefined;
}

/**
 * The secret from the route's path tail (`{proxy+}` of `POST /hooks/{proxy+}`): `ekuaibao/<secret>`. undefined
 * when the tail names no secret (the caller is then told 401, a wrong one 403).
 */
export function secretFromHookPath(tail: string | undefined): string | undefined {
  if (tail === undefined) return undefined;
  const m = /^ekuaibao\/([^/]+)\/?$/.exec(tail);
  return m ? m[1] : undefined;
}
