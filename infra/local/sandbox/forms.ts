/**
 * The forms side of the sandbox: the getApplyList query rules (type, paging, China-time window, active) and the
 * walk that finds attachment objects anywhere in a form.
 */
import { type EkuaibaoForm, FORM_TYPES, type FormType } from '../../../functions/core/model/forms.js';

const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000;
const CHINA_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Epoch ms of a `yyyy-MM-dd HH:mm:ss` wall-clock time in China (UTC+8, no DST); undefined when malformed. */
export function parseChinaTime(text: string): number | undefined {
  const m = CHINA_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2026-02-30 over into March: a round trip catches impossible dates.
  if (formatChinaTime(utc - CHINA_OFFSET_MS) !== text) return undefined;
  return utc - CHINA_OFFSET_MS;
}

/** `yyyy-MM-dd HH:mm:ss` in China time for an epoch-ms instant. */
export function formatChinaTime(epochMs: number): string {
  const d = new Date(epochMs + CHINA_OFFSET_MS);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

export interface ApplyListParams {
  type: FormType;
  start: number;
  count: number;
  orderBy: 'updateTime' | 'createTime';
  orderByType: 'asc' | 'desc';
  /** Inclusive epoch-ms bounds on the ordering field. */
  from?: number;
  to?: number;
  /** undefined = every form, deleted included; true = live only; false = deleted only. */
  active?: boolean;
}

/** Parses getApplyList's query; a string is the error message for a 400. */
export function parseApplyListQuery(q: URLSearchParams): ApplyListParams | string {
  const type = q.get('type');
  if (!type || !(FORM_TYPES as readonly string[]).includes(type)) {
    return `type 必须是 ${FORM_TYPES.join(', ')} 之一`;
  }
  const start = integerParam(q.get('start') ?? '0');
  if (start === undefined || start < 0) return 'start 必须是不小于 0 的整数';
  const count = integerParam(q.get('count') ?? '');
  if (count === undefined || count < 1 || count > 100) return 'count 必须是 1 到 100 之间的整数';
  const orderBy = q.get('orderBy') ?? 'updateTime';
  if (orderBy !== 'updateTime' && orderBy !== 'createTime') return 'orderBy 必须是 updateTime 或 createTime';
  const orderByType = q.get('orderByType') ?? 'asc';
  if (orderByType !== 'asc' && orderByType !== 'desc') return 'orderByType 必须是 asc 或 desc';
  const params: ApplyListParams = { type: type as FormType, start, count, orderBy, orderByType };
  for (const [name, field] of [
    ['startDate', 'from'],
    ['endDate', 'to'],
  ] as const) {
    const raw = q.get(name);
    if (raw === null || raw === '') continue;
    const ms = parseChinaTime(raw);
    if (ms === undefined) return `${name} 格式必须是 yyyy-MM-dd HH:mm:ss`;
    // The end is inclusive to the second: "12:00:00" takes everything up to 12:00:00.999.
    params[field] = field === 'to' ? ms + 999 : ms;
  }
  const active = q.get('active');
  if (active === 'true') params.active = true;
  else if (active === 'false') params.active = false;
  else if (active !== null && active !== '') return 'active 必须是 true 或 false';
  return params;
}

function integerParam(raw: string): number | undefined {
  if (!/^\d{1,9}$/.test(raw)) return undefined;
  return Number(raw);
}

/** A stored form and whether it was deleted. */
export interface StoredForm {
  form: EkuaibaoForm;
  deleted: boolean;
}

/** The form as the API shows it: a copy, flagged `active` (false once deleted). */
export function presentForm(stored: StoredForm): EkuaibaoForm {
  return { ...structuredClone(stored.form), active: !stored.deleted };
}

export function listForms(
  forms: Iterable<StoredForm>,
  params: ApplyListParams,
): { count: number; items: EkuaibaoForm[] } {
  const timeOf = (f: EkuaibaoForm): number => {
    const t = params.orderBy === 'createTime' ? (f.createTime ?? f.updateTime) : f.updateTime;
    return typeof t === 'number' ? t : 0;
  };
  const matching = [...forms].filter((s) => {
    if (s.form.formType !== params.type) return false;
    if (params.active !== undefined && params.active === s.deleted) return false;
    const t = timeOf(s.form);
    if (params.from !== undefined && t < params.from) return false;
    if (params.to !== undefined && t > params.to) return false;
    return true;
  });
  const sign = params.orderByType === 'asc' ? 1 : -1;
  // Ties break by id so paging is stable across calls.
  matching.sort((a, b) => sign * (timeOf(a.form) - timeOf(b.form)) || (a.form.id < b.form.id ? -1 : 1));
  return {
    count: matching.length,
    items: matching.slice(params.start, params.start + params.count).map(presentForm),
  };
}

/** Every object anywhere in `value` that has a string `fileId` and a string `key` (custom fields included). */
export function findAttachmentObjects(value: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.fileId === 'string' && typeof o.key === 'string') found.push(o);
    for (const child of Object.values(o)) walk(child);
  };
  walk(value);
  return found;
}
