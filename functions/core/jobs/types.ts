import type { CopyRef, CopyResult } from '../copy/types.js';

/** Where a job came from. */
export type JobSource =
  | { kind: 'manifest'; bucket: string; key: string }
  | { kind: 'api' }
  | { kind: 'schedule'; windowStart: string; windowEnd: string }
  | { kind: 'cli'; manifest?: string };

/** One SQS message = one batch of ≤100 refs (one downloadurls call right before download). */
export interface BatchMessage {
  v: 1;
  jobId: string;
  batchId: string;
  refs: CopyRef[];
  /** Object key template for this job (falls back to the configured default). */
  keyTemplate?: string;
}

/** A manifest line (or API item) that could not be used: reported, never silently dropped. */
export interface BadInput {
  /** 1-based line number in the manifest (for a JSON array: the item's 1-based index). */
  line: number;
  message: string;
}

/** jobs/<jobId>/job.json: written once by fan-out when every batch is queued. */
export interface JobRecord {
  v: 1;
  jobId: string;
  source: JobSource;
  createdAt: string;
  keyTemplate: string;
  counts: {
    /** Refs queued (after de-duplication). */
    refs: number;
    batches: number;
    duplicates: number;
    badLines: number;
  };
  /** The first bad lines (capped); counts.badLines has the full number. */
  badLines: BadInput[];
  batchIds: string[];
}

/** jobs/<jobId>/batches/<batchId>.json: written by the copy worker after each attempt. */
export interface BatchReport {
  v: 1;
  jobId: string;
  batchId: string;
  /** SQS ApproximateReceiveCount of the attempt that wrote this report. */
  attempt: number;
  /** true when the batch has no retryable failure left, or it reached the DLQ (final = no more tries). */
  final: boolean;
  finishedAt: string;
  results: CopyResult[];
}

/** GET /copy-jobs/{jobId} and `ekb-archive job <id>`. */
export interface JobStatus {
  jobId: string;
  createdAt: string;
  source: JobSource;
  state: 'running' | 'done' | 'done_with_failures';
  totals: { refs: number; copied: number; skipped: number; failed: number; pending: number; bytes: number };
  badLines: BadInput[];
  failures: Array<{
    id: string;
    key: string;
    code: string;
    message: string;
    retryable: boolean;
    batchId: string;
  }>;
}

/** The storage port for job records and reports (S3 in AWS and locally). */
export interface ReportStore {
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T | undefined>;
  /** Keys under a prefix, all pages. */
  list(prefix: string): Promise<string[]>;
}
