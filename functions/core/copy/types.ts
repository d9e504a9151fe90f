import type { AttachmentRef } from '../attachments/ref.js';

/**
 * A ref on its way to the bucket. Queue messages carry these (never a signed URL: a retried message can reappear
 * after the URL died; the copy worker resolves right before it downloads).
 */
export interface CopyRef extends AttachmentRef {
  /** Original file name, when the source knows it (form attachment, manifest column). */
  fileName?: string;
  /** Exact object key to write; overrides the template. Validated like any generated key. */
  targetKey?: string;
  /** Extra template values from the source, e.g. flowCode, flowId, formType for scheduled sync. */
  vars?: Record<string, string>;
}

export type CopyResult =
  | { status: 'copied'; id: string; key: string; objectKey: string; bytes: number; ms: number }
  | { status: 'skipped'; id: string; key: string; objectKey: string; reason: 'exists' }
  | {
      status: 'failed';
      id: string;
      key: string;
      objectKey?: string;
      /** Stable code, e.g. not_found, download_http_404, integrity, aborted, upload_failed. */
      code: string;
      retryable: boolean;
      /** Safe to show: no URL query, header or token. */
      message: string;
    };
