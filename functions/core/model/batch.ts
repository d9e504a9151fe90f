/** The copy queue's unit of work and the report the copy worker writes for it. */
import type { CopyResult } from './copy-result.js';
import type { PackageInfo } from './package.js';
import type { CopyRef } from './refs.js';

/** One downloadurls call answers ≤100 refs; fan-out never sends more per message. */
export const MAX_REFS_PER_MESSAGE = 100;

/** One SQS message = one batch of ≤100 refs (one downloadurls call right before download). */
export interface BatchMessage {
  v: 1;
  jobId: string;
  batchId: string;
  refs: CopyRef[];
  /** Object key template for this job (falls back to the configured default). */
  keyTemplate?: string;
  /**
   * Form packages whose refs this message carries (each package's files and its package parts): the copy worker
   * copies the files, then writes each package's form.json, print.pdf and index (core/packages/).
   */
  packages?: PackageInfo[];
  /** `overwrite`: replace an object of other identity at a target key (else it fails `target_occupied`). */
  onConflict?: 'overwrite';
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
