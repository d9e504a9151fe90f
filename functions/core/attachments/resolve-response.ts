/**
 * The answer of POST /attachments/download-urls, shaped like 合思's own downloadurls answer so that a client
 * written for the vendor only changes its base URL:
 * - vendor shape (default): a bare array of `{id, key, url, thumbUrl, headers?}` for the refs that were found, in
 *   request order; a ref asked twice is answered at each position. Refs 合思 does not know are left out, exactly
 *   as the vendor leaves them out, and counted in the `x-ekb-not-found-count` response header.
 * - report=full: `{"items": [...same items...], "notFound": [{index, id, key}]}`.
 * Additive per-item fields (a vendor client ignores them): fileName, fileType, fileSize (from a DP: key's JSON or
 * the key's trailing original name) and expiresAt (ISO 8601: when the URL stops working; DP: links ~15 min).
 * `thumbUrl` is present whenever 合思 gave one; `headers` only for DP: refs and must go on the download GET.
 */

import { AppError } from '../errors.js';
import type { Resolution } from '../model/resolution.js';
import { refIdentity } from './ref.js';
import type { ResolveRequestItem } from './resolve-request.js';

export interface ResolveAnswerItem {
  /** As the caller sent it (string or number). */
  id: string | number;
  key: string;
  url: string;
  thumbUrl?: string;
  headers?: Record<string, string>;
  fileName?: string;
  fileType?: string;
  fileSize?: number;
  expiresAt: string;
}

export interface NotFoundItem {
  /** Position in the request array (from 0). */
  index: number;
  id: string | number;
  key: string;
}

export interface ResolveAnswer {
  items: ResolveAnswerItem[];
  notFound: NotFoundItem[];
}

export type ReportMode = 'vendor' | 'full';

export const NOT_FOUND_COUNT_HEADER = 'x-ekb-not-found-count';

/**
 * Pairs each request item with its resolution (`resolutions[i]` answers `items[i]`). A resolution for another ref
 * is a programming error, not something to paper over: it throws a 500-class AppError.
 */
export function buildResolveAnswer(
  items: readonly ResolveRequestItem[],
  resolutions: readonly Resolution[],
): ResolveAnswer {
  if (resolutions.length !== items.length) {
    throw new AppError(
      'resolver_mismatch',
      `resolver answered ${resolutions.length} refs for ${items.length} asked`,
    );
  }
  const answer: ResolveAnswer = { items: [], notFound: [] };
  items.forEach((item, i) => {
    const r = resolutions[i] as Resolution;
    if (refIdentity(r) !== refIdentity(item.ref)) {
      throw new AppError('resolver_mismatch', `resolver answered another ref at position ${i}`);
    }
    if (r.status === 'not_found') {
      answer.notFound.push({ index: item.index, id: item.sentId, key: item.ref.key });
      return;
    }
    answer.items.push({
      id: item.sentId,
      key: item.ref.key,
      url: r.url,
      ...(r.thumbUrl !== undefined ? { thumbUrl: r.thumbUrl } : {}),
      ...(r.headers !== undefined ? { headers: { ...r.headers } } : {}),
      ...(r.fileName !== undefined ? { fileName: r.fileName } : {}),
      ...(r.fileType !== undefined ? { fileType: r.fileType } : {}),
      ...(r.fileSize !== undefined ? { fileSize: r.fileSize } : {}),
      expiresAt: new Date(r.expiresAt).toISOString(),
    });
  });
  return answer;
}

/** The body to send: the vendor's bare array, or the full report object. */
export function formatResolveBody(answer: ResolveAnswer, mode: ReportMode): unknown {
  return mode === 'full' ? { items: answer.items, notFound: answer.notFound } : answer.items;
}

/** Headers that go with every successful answer. */
export function resolveAnswerHeaders(answer: ResolveAnswer): Record<string, string> {
  return { [NOT_FOUND_COUNT_HEADER]: String(answer.notFound.length) };
}
