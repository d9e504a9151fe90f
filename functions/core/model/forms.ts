/** 合思 forms (单据) as getApplyList and flowDetails give them (vendor doc), for the scheduled sync. */

/** Form types getApplyList accepts, one per call. */
export const FORM_TYPES = [
  'expense',
  'loan',
  'payment',
  'requisition',
  'custom',
  'receipt',
  'permit',
] as const;
export type FormType = (typeof FORM_TYPES)[number];

/** getApplyList takes 0 < count ≤ 100. */
export const MAX_APPLY_LIST_COUNT = 100;

/** A form as flowDetails.value / getApplyList.items give it; only the fields we rely on are typed. */
export interface EkuaibaoForm {
  id: string;
  code?: string;
  updateTime?: number;
  state?: string;
  formType?: string;
  active?: boolean;
  form?: Record<string, unknown>;
  logs?: unknown[];
  [field: string]: unknown;
}

export interface ApplyListQuery {
  type: FormType;
  /** Offset from 0. */
  start: number;
  /** 1..100 */
  count: number;
  /** `yyyy-MM-dd HH:mm:ss` in China time (UTC+8). */
  startDate?: string;
  endDate?: string;
  orderBy?: 'updateTime' | 'createTime';
  orderByType?: 'asc' | 'desc';
  active?: boolean;
  signal?: AbortSignal;
}

export interface ApplyListPage {
  /** Total number of matching forms. */
  count: number;
  items: EkuaibaoForm[];
}
