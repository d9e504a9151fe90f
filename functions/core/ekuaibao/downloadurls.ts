/**
 * The downloadurls endpoint: refs checked, exact duplicates sent once, cut into calls of ≤100 with a few in flight,
 * and every answer matched to its ref by id+key (never by position). A ref 合思 leaves out is `not_found`.
 */
import { refIdentity } from '../attachments/ref.js';
import type { AttachmentRef } from '../model/refs.js';
import { MAX_REFS_PER_CALL, type Resolution } from '../model/resolution.js';
import type { Logger, ResolveOptions } from '../ports.js';
import { chunk } from '../util/chunk.js';
import { runPool } from '../util/pool.js';
import { abortedBy, type CallResult, type CallSpec } from './http-call.js';
import { readAnswerItem, toResolved, uniqueRefs, validateExpiration, validateRefs } from './resolution.js';
import { badResponse } from './upstream-errors.js';

const DOWNLOAD_URLS_PATH = '/api/openapi/v2/attachment/downloadurls';

export interface DownloadUrlsContext {
  authed(spec: CallSpec): Promise<CallResult>;
  /** downloadurls calls in flight at once. */
  concurrency: number;
  now: () => number;
  dpSignatureTtlMs: number | undefined;
  log: Logger;
}

export async function resolveDownloadUrls(
  c: DownloadUrlsContext,
  refs: readonly AttachmentRef[],
  opts: ResolveOptions = {},
): Promise<Resolution[]> {
  const expiration = validateExpiration(opts.expiration);
  const valid = validateRefs(refs);
  if (opts.signal?.aborted) throw abortedBy(opts.signal);
  if (valid.length === 0) return [];
  const answers = new Map<string, Resolution>();
  const parts = chunk(uniqueRefs(valid), MAX_REFS_PER_CALL);
  await runPool(
    parts,
    c.concurrency,
    (part, signal) => resolvePart(c, part, expiration, signal, answers),
    opts.signal,
  );
  return valid.map((ref) => ({ ...(answers.get(refIdentity(ref)) as Resolution) }));
}

/** One call of ≤100 refs; its answers (and a not_found for each ref left out) go into `answers`. */
async function resolvePart(
  c: DownloadUrlsContext,
  part: readonly AttachmentRef[],
  expiration: number,
  signal: AbortSignal,
  answers: Map<string, Resolution>,
): Promise<void> {
  // Taken before sending: the URLs are signed after this instant, so expiresAt errs on the early side.
  const sentAt = c.now();
  const { body } = await c.authed({
    route: 'downloadurls',
    method: 'POST',
    path: DOWNLOAD_URLS_PATH,
    json: part.map((r) => ({ id: r.id, key: r.key, expiration })),
    signal,
    counter: 'downloadUrlCalls',
    logFields: { items: part.length },
  });
  if (!Array.isArray(body)) throw badResponse('downloadurls', 'expected a JSON array');
  const wanted = new Set(part.map(refIdentity));
  let unreadable = 0;
  let unasked = 0;
  for (const raw of body) {
    const item = readAnswerItem(raw);
    if (!item) {
      unreadable++;
      continue;
    }
    const identity = refIdentity(item);
    if (!wanted.has(identity) || answers.has(identity)) {
      unasked++;
      continue;
    }
    answers.set(identity, toResolved(item, expiration, sentAt, c.dpSignatureTtlMs));
  }
  let notFound = 0;
  for (const ref of part) {
    const identity = refIdentity(ref);
    if (!answers.has(identity)) {
      answers.set(identity, { status: 'not_found', id: ref.id, key: ref.key });
      notFound++;
    }
  }
  if (unreadable > 0 || unasked > 0) {
    c.log.warn('合思 downloadurls answer had items we did not use', { unreadable, unasked, notFound });
  }
}
