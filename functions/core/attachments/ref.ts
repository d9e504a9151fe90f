import { ValidationError } from '../errors.js';

/** What 合思 needs to find a file: the `fileId` and the storage `key`, sent back byte for byte. */
export interface AttachmentRef {
  id: string;
  key: string;
}

/** The JSON inside a DingTalk-drive key: `DP:{"fileId","fileName","fileSize","fileType","spaceId"}`. */
export interface DpKeyInfo {
  fileId?: string;
  fileName?: string;
  fileSize?: number;
  fileType?: string;
  spaceId?: string;
}

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
