/**
 * The one form listing: every form of one type in a window, by offset pages in updateTime order (oldest first),
 * pausing between pages. Used by the scheduled sync and offered by the client.
 *
 * Offset paging under a live tenant: a form updated while we page leaves the window (its new updateTime is past
 * endDate) and shifts the later ones back, which would make plain offset paging skip a form at each page boundary.
 * The total `count` drops when that happens, so the listing steps back by the drop and reads the overlap again; a
 * form read twice (same id and updateTime) is yielded once unless the caller de-duplicates itself.
 */
import { AppError, ErrorCode, ValidationError } from '../errors.js';
import {
  type ApplyListQuery,
  type EkuaibaoForm,
  type FormType,
  MAX_APPLY_LIST_COUNT,
} from '../model/forms.js';
import type { FormsSource } from '../ports.js';
import { abortableSleep, defaultSleep, type Sleep } from '../util/backoff.js';

/** Integrations pause about 200 ms between pages; no rate limit is documented, so be polite. */
export const DEFAULT_PAGE_PAUSE_MS = 200;
/** Offset paging can shift under us; a listing that keeps shifting this often is given up (and retried later). */
const MAX_BACKUPS_PER_LISTING = 50;

export interface ListFormsOptions {
  type: FormType;
  /** `yyyy-MM-dd HH:mm:ss`, China time. */
  startDate?: string;
  endDate?: string;
  /** 1..100, default 100. */
  pageSize?: number;
  /** Pause between pages, ms (default 200). */
  pauseMs?: number;
  active?: boolean;
  signal?: AbortSignal;
  /** false: yield a form every time a page holds it (the caller counts repeats itself). Default true. */
  dedupe?: boolean;
  /** Called once per page read. */
  onPage?: () => void;
}

export async function* listForms(
  source: Pick<FormsSource, 'getApplyList'>,
  options: ListFormsOptions,
  sleep: Sleep = defaultSleep,
): AsyncGenerator<EkuaibaoForm, void, undefined> {
  const pageSize = options.pageSize ?? MAX_APPLY_LIST_COUNT;
  const pauseMs = options.pauseMs ?? DEFAULT_PAGE_PAUSE_MS;
  if (!Number.isInteger(pauseMs) || pauseMs < 0) {
    throw new ValidationError(`pauseMs must be an integer ≥ 0 (got ${JSON.stringify(pauseMs)})`);
  }
  const seen = options.dedupe === false ? undefined : new Set<string>();
  let start = 0;
  let previousCount: number | undefined;
  let backups = 0;
  for (let page = 0; ; page++) {
    if (page > 0 && pauseMs > 0) await abortableSleep(sleep, pauseMs, options.signal);
    const { count, items } = await source.getApplyList(pageQuery(options, start, pageSize));
    options.onPage?.();
    for (const item of items) {
      const identity = `${item.id}\u0000${item.updateTime ?? ''}`;
      if (seen?.has(identity)) continue;
      seen?.add(identity);
      yield item;
    }
    const dropped = previousCount !== undefined && count < previousCount ? previousCount - count : 0;
    previousCount = count;
    if (dropped === 0) {
      start += items.length;
      if (items.length < pageSize || start >= count) return;
      continue;
    }
    backups += 1;
    if (backups > MAX_BACKUPS_PER_LISTING) {
      throw new AppError(
        ErrorCode.SyncListingUnstable,
        `getApplyList for ${options.type} kept changing while it was paged; the window will be retried`,
        { retryable: true, status: 503 },
      );
    }
    // The forms we missed now sit just before this page: read from there again.
    start = Math.max(0, start - dropped);
  }
}

function pageQuery(o: ListFormsOptions, start: number, count: number): ApplyListQuery {
  const query: ApplyListQuery = { type: o.type, start, count, orderBy: 'updateTime', orderByType: 'asc' };
  if (o.startDate !== undefined) query.startDate = o.startDate;
  if (o.endDate !== undefined) query.endDate = o.endDate;
  if (o.active !== undefined) query.active = o.active;
  if (o.signal !== undefined) query.signal = o.signal;
  return query;
}
