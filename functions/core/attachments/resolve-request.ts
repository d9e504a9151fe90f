/**
 * The body of POST /attachments/download-urls, which is exactly the body of 合思's own downloadurls call: a bare
 * JSON array of `{id, key, expiration?}`. Validation names the item (counted from 0, as the array index) and the
 * field, so a caller can fix its request without guessing.
 *
 * Accepted on top of the vendor's rules, so that no existing client breaks:
 * - `id` may be a number (fileIds are numeric strings, and some serializers send them as numbers); it is sent to
 *   合思 as its decimal string and echoed back exactly as sent. Only non-negative safe integers are accepted: a
 *   larger number has already lost digits in the caller's JSON encoder, and a wrong id must not pass silently.
 * - `expiration` may be missing or null (defaults to 1800 s, the longest 合思 allows); otherwise an integer 1..1800.
 * - any number of items up to `maxRefs` (the client splits them into vendor calls of ≤100); more → 413.
 * Unknown fields on an item are ignored, as 合思 ignores them.
 */

import { TooLargeError, ValidationError } from '../errors.js';
import type { AttachmentRef } from '../model/refs.js';
import { DEFAULT_EXPIRATION_SECONDS, MAX_EXPIRATION_SECONDS } from '../model/resolution.js';
import { isDpKey, parseDpKey } from './ref.js';

export interface ResolveRequestItem {
  /** Position in the request array (from 0). */
  index: number;
  /** The id exactly as the caller sent it; the answer echoes this value. */
  sentId: string | number;
  /** What goes to 合思: the id as a string, the key byte for byte. */
  ref: AttachmentRef;
  /** Seconds the URL should stay valid (1..1800; 合思 ignores it for DP: keys). */
  expiration: number;
}

export interface ParseResolveRequestOptions {
  /** Most items one request may carry; more → TooLargeError (413). */
  maxRefs: number;
}

const SHAPE = 'a JSON array of {"id", "key", "expiration"} items';

/** Parses the raw body text. Throws only ValidationError (400) or TooLargeError (413). */
export function parseResolveRequestBody(
  text: string,
  options: ParseResolveRequestOptions,
): ResolveRequestItem[] {
  if (text.trim() === '') throw new ValidationError(`body is empty; expected ${SHAPE}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input; the caller has it already and logs need not carry it.
    throw new ValidationError(`body is not valid JSON; expected ${SHAPE}`);
  }
  return parseResolveRequest(value, options);
}

/** Validates an already-parsed body. Throws only ValidationError (400) or TooLargeError (413). */
export function parseResolveRequest(
  value: unknown,
  options: ParseResolveRequestOptions,
): ResolveRequestItem[] {
  if (!Array.isArray(value)) {
    throw new ValidationError(`body must be ${SHAPE} (got ${kindOf(value)})`);
  }
  if (value.length === 0) throw new ValidationError(`body must hold at least one item; expected ${SHAPE}`);
  if (value.length > options.maxRefs) {
    throw new TooLargeError(
      `body holds ${value.length} items; at most ${options.maxRefs} are accepted per request (split it into several requests)`,
    );
  }
  return value.map((raw: unknown, index) => parseItem(raw, index));
}

function parseItem(raw: unknown, index: number): ResolveRequestItem {
  const where = `item ${index}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError(`${where} must be an object with "id" and "key" (got ${kindOf(raw)})`);
  }
  const o = raw as Record<string, unknown>;
  const sentId = o.id;
  let id: string;
  if (typeof sentId === 'string' && sentId.trim() !== '') {
    id = sentId;
  } else if (typeof sentId === 'number' && Number.isSafeInteger(sentId) && sentId >= 0) {
    id = String(sentId);
  } else {
    throw new ValidationError(
      `${where}: "id" must be a non-empty string or a non-negative safe integer (got ${kindOf(sentId)})`,
    );
  }
  const key = o.key;
  if (typeof key !== 'string' || key === '') {
    throw new ValidationError(`${where}: "key" must be a non-empty string (got ${kindOf(key)})`);
  }
  if (isDpKey(key)) {
    try {
      parseDpKey(key);
    } catch (err) {
      throw new ValidationError(
        `${where}: "key" is a DP: key whose JSON is broken (${(err as Error).message})`,
      );
    }
  }
  const exp = o.expiration;
  let expiration = DEFAULT_EXPIRATION_SECONDS;
  if (exp !== undefined && exp !== null) {
    if (typeof exp !== 'number' || !Number.isInteger(exp) || exp < 1 || exp > MAX_EXPIRATION_SECONDS) {
      throw new ValidationError(
        `${where}: "expiration" must be an integer number of seconds from 1 to ${MAX_EXPIRATION_SECONDS} (got ${kindOf(exp)})`,
      );
    }
    expiration = exp;
  }
  return { index, sentId: sentId as string | number, ref: { id, key }, expiration };
}

/**
 * Items grouped by expiration, in first-seen order: 合思 takes one expiration per item, but the client takes one
 * per call, so each distinct value becomes its own resolveDownloadUrls call.
 */
export function groupByExpiration(
  items: readonly ResolveRequestItem[],
): Array<{ expiration: number; items: ResolveRequestItem[] }> {
  const groups = new Map<number, ResolveRequestItem[]>();
  for (const item of items) {
    const group = groups.get(item.expiration);
    if (group) group.push(item);
    else groups.set(item.expiration, [item]);
  }
  return [...groups].map(([expiration, members]) => ({ expiration, items: members }));
}

/** A short, safe description of a bad value for an error message. */
function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    if (value.trim() === '') return 'a blank string';
    return `the string ${truncate(JSON.stringify(value))}`;
  }
  if (typeof value === 'number') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  return typeof value;
}

function truncate(text: string, limit = 60): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit).join('')}…`;
}

/** The `report` query parameter: absent or `vendor` → the vendor's bare array; `full` → items + notFound. */
export function parseReportMode(value: string | undefined): 'vendor' | 'full' {
  if (value === undefined || value === '' || value === 'vendor') return 'vendor';
  if (value === 'full') return 'full';
  throw new ValidationError(`query parameter "report" must be "full" or "vendor" (got ${kindOf(value)})`);
}
