/**
 * The local stack's outbound-message secret: generated once (32 random bytes, base64url) and kept in the data
 * folder, readable by its owner only, so the URL configured in the sandbox or a test tenant stays valid across
 * restarts. It never goes into the environment; `npm start` prints the URL that holds it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MIN_HOOK_SECRET_CHARS } from '../../functions/core/hooks/hook-secret.js';

export const HOOK_SECRET_FILE = 'hook-secret';
/** The route's path before the secret (POST /hooks/{proxy+}, proxy = ekuaibao/<secret>). */
export const HOOK_PATH = '/hooks/ekuaibao/';

export async function loadHookSecret(directory: string): Promise<string> {
  const file = join(directory, HOOK_SECRET_FILE);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  const kept = existing?.trim();
  if (kept && kept.length >= MIN_HOOK_SECRET_CHARS && /^[A-Za-z0-9_-]+$/.test(kept)) return kept;
  const secret = randomBytes(32).toString('base64url');
  await mkdir(directory, { recursive: true });
  // Written whole or not at all: a kill between the two steps leaves the old file (or none), never half a secret.
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${secret}\n`, { mode: 0o600 });
  await chmod(partial, 0o600);
  await rename(partial, file);
  return secret;
}
