/**
 * The forms endpoints (getApplyList, flowDetails) the scheduled sync reads, with their queries checked before any
 * call and their answers read defensively (items without an id are dropped and counted).
 */
import { ValidationError } from '../errors.js';
import {
  type ApplyListPage,
  type ApplyListQuery,
  type EkuaibaoForm,
  FORM_TYPES,
  MAX_APPLY_LIST_COUNT,
} from '../model/forms.js';
import type { Logger } from '../ports.js';
import type { CallResult, CallSpec } from './http-call.js';
import { badResponse } from './upstream-errors.js';

const PATHS = {
  applyList: '/api/openapi/v1.1/docs/getApplyList',
  flowDetails: '/api/openapi/v1.1/flowDetails',
  flowDetailsByCode: '/api/openapi/v1.1/flowDetails/byCode',
} as const;

export interface FormsContext {
  authed(spec: CallSpec): Promise<CallResult>;
  log: Logger;
}

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

export async function getApplyList(c: FormsContext, query: ApplyListQuery): Promise<ApplyListPage> {
  validateApplyListQuery(query);
  const { body } = await c.authed({
    route: 'getApplyList',
    method: 'GET',
    path: PATHS.applyList,
    query: {
      type: query.type,
      start: String(query.start),
      count: String(query.count),
      orderBy: query.orderBy ?? 'updateTime',
      orderByType: query.orderByType ?? 'asc',
      startDate: query.startDate,
      endDate: query.endDate,
      active: query.active === undefined ? undefined : String(query.active),
    },
    ...(query.signal ? { signal: query.signal } : {}),
    counter: 'applyListCalls',
  });
  let page = body as Record<string, unknown> | undefined;
  if (page && !Array.isArray(page.items) && page.value && typeof page.value === 'object') {
    page = page.value as Record<string, unknown>;
  }
  if (!page || typeof page !== 'object' || !Array.isArray(page.items)) {
    throw badResponse('getApplyList', 'expected {count, items[]}');
  }
  const items: EkuaibaoForm[] = [];
  let dropped = 0;
  for (const raw of page.items as unknown[]) {
    const form = readForm(raw);
    if (form) items.push(form);
    else dropped++;
  }
  if (dropped > 0) c.log.warn('合思 getApplyList items without an id were dropped', { dropped });
  const total = Number(page.count);
  return { count: Number.isFinite(total) && total >= 0 ? total : items.length, items };
}

export async function getFlowDetails(
  c: FormsContext,
  by: { flowId: string } | { code: string },
  signal?: AbortSignal,
): Promise<EkuaibaoForm | undefined> {
  const flowId = (by as { flowId?: unknown }).flowId;
  const code = (by as { code?: unknown }).code;
  const byId = typeof flowId === 'string' && flowId.trim() !== '';
  const byCode = typeof code === 'string' && code.trim() !== '';
  if (byId === byCode) {
    throw new ValidationError('getFlowDetails needs exactly one of a non-empty flowId or code');
  }
  const { status, body } = await c.authed({
    route: 'flowDetails',
    method: 'GET',
    path: byId ? PATHS.flowDetails : PATHS.flowDetailsByCode,
    query: byId ? { flowId: flowId as string } : { code: code as string },
    ...(signal ? { signal } : {}),
    counter: 'flowDetailsCalls',
    passStatuses: [412],
  });
  if (status === 412) return undefined;
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>).value : undefined;
  const form = readForm(value);
  if (!form) throw badResponse('flowDetails', 'expected {value: form}');
  return form;
}

function readForm(raw: unknown): EkuaibaoForm | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  if (typeof o.id === 'number') return { ...o, id: String(o.id) } as EkuaibaoForm;
  if (typeof o.id !== 'string' || o.id === '') return undefined;
  return o as EkuaibaoForm;
}
