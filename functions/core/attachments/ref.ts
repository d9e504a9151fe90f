import { ValidationError } from '../errors.js';
import type { AttachmentRef, DpKeyInfo } from '../model/refs.js';

export const DP_PREFIX = 'DP:';

export function isDpKey(key: string): boolean {
  return key.startsWith(DP_PREFIX);
}

/**
 * Parses a `DP:` key's JSON. Returns undefined for ordinary keys; throws ValidationError when a DP: key's JSON is
 * broken (the vendor could not resolve it either, so the caller should hear about it as bad input).
 */
export function parseDpKey(key: string): DpKeyInfo | undefined {
  if (!isDpKey(key)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(key.slice(DP_PREFIX.length));
  } catch {
    throw new ValidationError('DP: key is not valid JSON after the "DP:" prefix');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError('DP: key must hold a JSON object after the "DP:" prefix');
  }
  const o = parsed as Record<string, unknown>;
  const info: DpKeyInfo = {};
  // Only scalars: an object here could carry a hostile toString (found by the property tests).
  if (typeof o.fileId === 'string' || typeof o.fileId === 'number') info.fileId = String(o.fileId);
  if (typeof o.fileName === 'string') info.fileName = o.fileName;
  if (typeof o.fileType === 'string') info.fileType = o.fileType;
  if (typeof o.spaceId === 'string' || typeof o.spaceId === 'number') info.spaceId = String(o.spaceId);
  const size = typeof o.fileSize === 'string' ? Number(o.fileSize) : o.fileSize;
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) info.fileSize = size;
  return info;
}

/** Identity of a ref for de-duplication and for matching answers to requests (id + key, never position). */
export function refIdentity(ref: AttachmentRef): string {
  return `${ref.id}\u0000${ref.key}`;
}

const OPENAPI_KEY = /^openapi[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-(.+)$/is;

/**
 * The original file name from an ordinary key of the `openapi<uuid>-<name>` shape. Other shapes (e.g.
 * `<name>-<epoch>-<n>.<ext>`) are ambiguous, so they give undefined and callers fall back to their own name.
 */
export function fileNameFromKey(key: string): string | undefined {
  const m = OPENAPI_KEY.exec(key);
  const name = m?.[1];
  return name && name.trim() !== '' ? name : undefined;
}
