import { ValidationError } from '../errors.js';
import {
  type ApplyListQuery,
  type EkuaibaoForm,
  FORM_TYPES,
  type FormType,
  MAX_APPLY_LIST_COUNT,
} from '../model/forms.js';
import type { FormsSource } from '../ports.js';
import { abortableSleep, defaultSleep, type Sleep } from '../util/backoff.js';

/** Integrations pause about 200 ms between pages; no rate limit is documented, so be polite. */
export const DEFAULT_PAGE_PAUSE_MS = 200;

const DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

export function validateApplyListQuery(q: ApplyListQuery): void {
  if (q === null || typeof q !== 'object') throw new ValidationError('getApplyList needs a query object');
  if (!FORM_TYPES.includes(q.type)) {
    throw new ValidationError(`type must be one of ${FORM_TYPES.join(', ')} (got ${JSON.stringify(q.type)})`);
  }
  if (!Number.isInteger(q.start) || q.start < 0) {
    throw new ValidationError(`start must be an integer ≥ 0 (got ${JSON.stringify(q.start)})`);
  }
  if (!Number.isInteger(q.count) || q.count < 1 || q.count > MAX_APPLY_LIST_COUNT) {
    throw new ValidationError(
      `count must be an integer from 1 to ${MAX_APPLY_LIST_COUNT} (got ${JSON.stringify(q.count)})`,
    );
  }
  for (const field of ['startDate', 'endDate'] as const) {
    const v = q[field];
    if (v !== undefined && (typeof v !== 'string' || !DATE_TIME.test(v))) {
      throw new ValidationError(`${field} must look like "yyyy-MM-dd HH:mm:ss" (got ${JSON.stringify(v)})`);
    }
  }
  if (q.orderBy !== undefined && q.orderBy !== 'updateTime' && q.orderBy !== 'createTime') {
    throw new ValidationError(`orderBy must be updateTime or createTime (got ${JSON.stringify(q.orderBy)})`);
  }
  if (q.orderByType !== undefined && q.orderByType !== 'asc' && q.orderByType !== 'desc') {
    throw new ValidationError(`orderByType must be asc or desc (got ${JSON.stringify(q.orderByType)})`);
  }
  if (q.active !== undefined && typeof q.active !== 'boolean') {
    throw new ValidationError(`active must be true or false (got ${JSON.stringify(q.active)})`);
  }
}

export interface ListFormsOptions {
  type: FormType;
  startDate?: string;
  endDate?: string;
  /** 1..100, default 100. */
  pageSize?: number;
  /** Pause between pages, ms (default 200). */
  pauseMs?: number;
  orderBy?: ApplyListQuery['orderBy'];
  orderByType?: ApplyListQuery['orderByType'];
  active?: boolean;
  signal?: AbortSignal;
}

/**
 * Every form of one type in a window, page by page (offset paging, oldest update first), pausing between pages.
 * Offsets can shift when forms change while we page, so a form seen twice (same id and updateTime) is yielded
 * once; callers overlap their windows to catch the ones that shift the other way.
 */
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
  const seen = new Set<string>();
  let start = 0;
  for (let page = 0; ; page++) {
    if (page > 0 && pauseMs > 0) await abortableSleep(sleep, pauseMs, options.signal);
    const query: ApplyListQuery = {
      type: options.type,
      start,
      count: pageSize,
      orderBy: options.orderBy ?? 'updateTime',
      orderByType: options.orderByType ?? 'asc',
    };
    if (options.startDate !== undefined) query.startDate = options.startDate;
    if (options.endDate !== undefined) query.endDate = options.endDate;
    if (options.active !== undefined) query.active = options.active;
    if (options.signal !== undefined) query.signal = options.signal;
    const { count, items } = await source.getApplyList(query);
    for (const item of items) {
      const identity = `${item.id}\u0000${item.updateTime ?? ''}`;
      if (seen.has(identity)) continue;
      seen.add(identity);
      yield item;
    }
    start += items.length;
    if (items.length === 0 || items.length < pageSize || start >= count) return;
  }
}
