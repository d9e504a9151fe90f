import { extensionOf } from '../attachments/object-key.js';
import { fileNameFromKey, isDpKey, parseDpKey, refIdentity } from '../attachments/ref.js';
import { ValidationError } from '../errors.js';
import type { AttachmentRef } from '../model/refs.js';
import {
  DEFAULT_EXPIRATION_SECONDS,
  DP_SIGNATURE_TTL_MS,
  MAX_EXPIRATION_SECONDS,
  type ResolvedAttachment,
} from '../model/resolution.js';

/**
 * Validates `expiration` instead of clamping it: the resolve API answers 400 for a value that is not an integer
 * from 1 to 1800, so a caller learns about the mistake rather than getting URLs with a lifetime it did not ask for.
 */
export function validateExpiration(expiration: unknown): number {
  if (expiration === undefined) return DEFAULT_EXPIRATION_SECONDS;
  if (
    typeof expiration !== 'number' ||
    !Number.isInteger(expiration) ||
    expiration < 1 ||
    expiration > MAX_EXPIRATION_SECONDS
  ) {
    throw new ValidationError(
      `expiration must be an integer number of seconds from 1 to ${MAX_EXPIRATION_SECONDS} (got ${JSON.stringify(expiration) ?? String(expiration)})`,
    );
  }
  return expiration;
}

/** Checks every ref's shape (naming the position and field) and that DP: keys hold JSON. */
export function validateRefs(refs: unknown): AttachmentRef[] {
  if (!Array.isArray(refs)) throw new ValidationError('refs must be an array of {id, key}');
  return refs.map((ref: unknown, i) => {
    if (ref === null || typeof ref !== 'object') {
      throw new ValidationError(`refs[${i}] must be an object with id and key`);
    }
    const { id, key } = ref as Record<string, unknown>;
    if (typeof id !== 'string' || id.trim() === '') {
      throw new ValidationError(`refs[${i}].id must be a non-empty string`);
    }
    if (typeof key !== 'string' || key === '') {
      throw new ValidationError(`refs[${i}].key must be a non-empty string`);
    }
    if (isDpKey(key)) {
      try {
        parseDpKey(key);
      } catch (err) {
        throw new ValidationError(`refs[${i}].key: ${(err as Error).message}`);
      }
    }
    return { id, key };
  });
}

/** Unique refs in first-seen order; exact duplicates (same id and key) are sent once. */
export function uniqueRefs(refs: readonly AttachmentRef[]): AttachmentRef[] {
  const seen = new Set<string>();
  const out: AttachmentRef[] = [];
  for (const ref of refs) {
    const k = refIdentity(ref);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ id: ref.id, key: ref.key });
  }
  return out;
}

/** The `Expires` query parameter of an OSS-style signed URL (epoch seconds), as epoch ms. */
export function urlExpiresAtMs(url: string): number | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const raw = u.searchParams.get('Expires');
  if (raw === null || !/^\d+$/.test(raw)) return undefined;
  return Number(raw) * 1000;
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * When a URL stops working. Ordinary: the asked-for lifetime, or earlier if the URL's own `Expires` says so.
 * DP: ~15 min after the signing time (x-oss-date, else now), never later than the asked-for lifetime.
 */
export function computeExpiresAt(args: {
  key: string;
  url: string;
  headers: Record<string, string> | undefined;
  expirationSeconds: number;
  nowMs: number;
  dpSignatureTtlMs?: number;
}): number {
  const requested = args.nowMs + args.expirationSeconds * 1000;
  if (isDpKey(args.key)) {
    const date = headerValue(args.headers, 'x-oss-date');
    const parsed = date === undefined ? Number.NaN : Date.parse(date);
    const signedAt = Number.isNaN(parsed) ? args.nowMs : parsed;
    return Math.min(signedAt + (args.dpSignatureTtlMs ?? DP_SIGNATURE_TTL_MS), requested);
  }
  const own = urlExpiresAtMs(args.url);
  return own === undefined ? requested : Math.min(requested, own);
}

/** One item of the downloadurls answer, read defensively. */
export interface AnswerItem {
  id: string;
  key: string;
  url: string;
  thumbUrl?: string;
  headers?: Record<string, string>;
}

/** Reads an answer item; undefined when it lacks id, key or url (treated as "not answered"). */
export function readAnswerItem(raw: unknown): AnswerItem | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  const id = typeof o.id === 'number' ? String(o.id) : o.id;
  if (typeof id !== 'string' || typeof o.key !== 'string' || typeof o.url !== 'string' || o.url === '') {
    return undefined;
  }
  const item: AnswerItem = { id, key: o.key, url: o.url };
  if (typeof o.thumbUrl === 'string' && o.thumbUrl !== '') item.thumbUrl = o.thumbUrl;
  if (o.headers !== null && typeof o.headers === 'object' && !Array.isArray(o.headers)) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number') headers[k] = String(v);
    }
    if (Object.keys(headers).length > 0) item.headers = headers;
  }
  return item;
}

export function toResolved(
  item: AnswerItem,
  expirationSeconds: number,
  nowMs: number,
  dpSignatureTtlMs?: number,
): ResolvedAttachment {
  const out: ResolvedAttachment = {
    status: 'resolved',
    id: item.id,
    key: item.key,
    url: item.url,
    expiresAt: computeExpiresAt({
      key: item.key,
      url: item.url,
      headers: item.headers,
      expirationSeconds,
      nowMs,
      ...(dpSignatureTtlMs === undefined ? {} : { dpSignatureTtlMs }),
    }),
  };
  if (item.thumbUrl !== undefined) out.thumbUrl = item.thumbUrl;
  if (item.headers !== undefined) out.headers = item.headers;
  if (isDpKey(item.key)) {
    const info = parseDpKey(item.key);
    if (info?.fileName !== undefined) out.fileName = info.fileName;
    if (info?.fileType !== undefined) out.fileType = info.fileType;
    if (info?.fileSize !== undefined) out.fileSize = info.fileSize;
  } else {
    // An ordinary key carries the original name (and so the type); its size only the download's headers tell.
    const name = fileNameFromKey(item.key);
    if (name !== undefined) {
      out.fileName = name;
      const type = extensionOf(name);
      if (type !== '') out.fileType = type;
    }
  }
  return out;
}
