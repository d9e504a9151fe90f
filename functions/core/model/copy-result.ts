/** How each ref of a batch ended, and the tally of a set of such results. */
import type { ErrorCode } from '../errors.js';

export type CopyResult =
  | { status: 'copied'; id: string; key: string; objectKey: string; bytes: number; ms: number }
  | { status: 'skipped'; id: string; key: string; objectKey: string; reason: 'exists' }
  | {
      status: 'failed';
      id: string;
      key: string;
      objectKey?: string;
      /** Stable code from the catalogue (errors.ts), e.g. not_found, download_http_404, integrity, deadline. */
      code: ErrorCode;
      retryable: boolean;
      /** Safe to show: no URL query, header or token. */
      message: string;
      /** target_occupied: what holds the key instead (from its metadata and HEAD; never a URL). */
      occupant?: { source?: string; fileId?: string; size: number; lastModified?: string };
    };

export type FailedResult = Extract<CopyResult, { status: 'failed' }>;

export interface CopyTally {
  copied: number;
  skipped: number;
  failed: number;
  retryableFailed: number;
  bytes: number;
}

export function tallyResults(results: readonly CopyResult[]): CopyTally {
  const s: CopyTally = { copied: 0, skipped: 0, failed: 0, retryableFailed: 0, bytes: 0 };
  for (const r of results) {
    if (r.status === 'copied') {
      s.copied += 1;
      s.bytes += r.bytes;
    } else if (r.status === 'skipped') s.skipped += 1;
    else {
      s.failed += 1;
      if (r.retryable) s.retryableFailed += 1;
    }
  }
  return s;
}
