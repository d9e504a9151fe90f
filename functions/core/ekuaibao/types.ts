import type { AttachmentRef } from '../attachments/ref.js';

/** A ref 合思 answered for: a signed URL (opaque; never logged), and DP: headers that must go on the GET. */
export interface ResolvedAttachment {
  status: 'resolved';
  id: string;
  key: string;
  url: string;
  thumbUrl?: string;
  /** Only for DP: (DingTalk drive) refs; secret, never logged. */
  headers?: Record<string, string>;
  /** Epoch ms after which the URL must not be used (for DP: at most ~15 min after signing). */
  expiresAt: number;
  /** From the DP: key's JSON, or from the key's trailing original name. */
  fileName?: string;
  fileType?: string;
  fileSize?: number;
}

/** 合思 left this ref out of its answer: it does not know it. A permanent failure for a copy. */
export interface NotFoundAttachment {
  status: 'not_found';
  id: string;
  key: string;
}

export type Resolution = ResolvedAttachment | NotFoundAttachment;

export interface ResolveOptions {
  /** Seconds the URLs stay valid, 1..1800 (default 1800). */
  expiration?: number;
  signal?: AbortSignal;
}

/** The port everything that needs download URLs depends on. Answers come back in the order of `refs`. */
export interface DownloadUrlResolver {
  resolveDownloadUrls(refs: readonly AttachmentRef[], options?: ResolveOptions): Promise<Resolution[]>;
}

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

/** A form (单据) as flowDetails.value / getApplyList.items give it; only the fields we rely on are typed. */
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

/** The forms side of the client, used by the scheduled sync. */
export interface FormsSource {
  getApplyList(query: ApplyListQuery): Promise<ApplyListPage>;
  /** undefined when 合思 answers 412 (unknown or deleted form). */
  getFlowDetails(
    by: { flowId: string } | { code: string },
    signal?: AbortSignal,
  ): Promise<EkuaibaoForm | undefined>;
}
