import type { CopyRef, CopyResult } from '../copy/types.js';

/** Where a job came from. */
export type JobSource =
  | { kind: 'manifest'; bucket: string; key: string }
  | {
      kind: 'api';
      /** s3://bucket/key when the API job was started from a manifest. */
      manifest?: string;
    }
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

/**
 * One input item on its way into a job: a usable ref with the (1-based) line it came from, or a bad line.
 * Manifest parsers yield these; API and sync refs are wrapped the same way.
 */
export type JobItem = { ok: CopyRef; line: number } | { bad: BadInput };

/** The queue port: SQS SendMessageBatch in AWS, the local queue on one machine, a recorder in tests. */
export interface BatchQueue {
  /**
   * Queues every message or throws (after bounded retries of partial failures). Resolving means all are queued.
   * Any number of messages per call: the SQS adapter groups them into SendMessageBatch calls (10 entries, 256 KiB).
   */
  sendBatches(messages: BatchMessage[], signal?: AbortSignal): Promise<void>;
}

/** A manifest object opened for streaming (S3 GetObject body; never read whole). */
export interface ManifestObject {
  body: AsyncIterable<Uint8Array | string>;
  eTag?: string;
  versionId?: string;
  contentLength?: number;
}

/** Where manifests are read from (S3 in AWS and locally). */
export interface ManifestSource {
  /** Throws AppError `manifest_not_found` (status 400) when there is no such object. */
  open(bucket: string, key: string, signal?: AbortSignal): Promise<ManifestObject>;
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
  /** Refs in each batch, parallel to batchIds (job status counts a batch without a report as that many pending). */
  batchSizes?: number[];
  /**
   * Set when the input as a whole could not be used (manifest unreadable, CSV header without "id"): what was queued
   * before it (if anything) still runs, and the user sees why the rest did not.
   */
  error?: { code: string; message: string; line?: number };
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
  /** Batches queued, batches with a report, batches whose report is final. */
  batches?: { total: number; reported: number; final: number };
  totals: { refs: number; copied: number; skipped: number; failed: number; pending: number; bytes: number };
  badLines: BadInput[];
  /** Why the input stopped being read, when it did (see JobRecord.error). */
  error?: { code: string; message: string; line?: number };
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
