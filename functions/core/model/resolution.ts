/** What 合思's downloadurls answers for a ref, and the limits of that call (vendor doc). */
import type { ErrorCode } from '../errors.js';

/** downloadurls takes at most 100 items per call. */
export const MAX_REFS_PER_CALL = 100;
/** URL lifetime bounds in seconds (max 1800). */
export const MAX_EXPIRATION_SECONDS = 1800;
export const DEFAULT_EXPIRATION_SECONDS = 1800;
/** OSS accepts header-signed (DP:) downloads only about 15 minutes after the signing time, whatever `expiration`. */
export const DP_SIGNATURE_TTL_MS = 15 * 60_000;

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
  /** Why, when the endpoint says more than "absent" (e.g. invoice_unavailable for an invoice without original). */
  code?: ErrorCode;
  message?: string;
}

export type Resolution = ResolvedAttachment | NotFoundAttachment;
