/** Jobs: where one came from, the items it was made of, its record in the bucket and the status read from it. */
import type { CopyRef } from './refs.js';

/** Where a job came from. */
export type JobSource =
  | { kind: 'manifest'; bucket: string; key: string }
  | {
      kind: 'api';
      /** s3://bucket/key when the API job was started from a manifest. */
      manifest?: string;
    }
  | { kind: 'schedule'; windowStart: string; windowEnd: string }
  | { kind: 'cli'; manifest?: string }
  /** Form packages asked for by POST /form-archives or a request dropped under manifests/form-archives/. */
  | { kind: 'form-archives'; request: string }
  /** `ekb-archive archive-forms`. */
  | { kind: 'cli-form-archives' };

/** What a form-package job did with its forms beyond the refs it queued (job.json and GET /copy-jobs/{id}). */
export interface JobPackages {
  /** Packages queued. */
  queued: number;
  /** Forms whose version was archived whole already (its index says complete): nothing queued. */
  unchanged: number;
  /** Forms recorded and not sealed (deleted, or in a state not to archive), with the first 1000 named. */
  held: number;
  heldForms: Array<{ flowId: string; code: string; state: string; reason: string }>;
}

/** A manifest line (or API item) that could not be used: reported, never silently dropped. */
export interface BadInput {
  /** 1-based line number in the manifest (for a JSON array: the item's 1-based index). */
  line: number;
  message: string;
  /** The rule a refused target broke (target_in_system_lane, target_key_conflict, …); absent for malformed lines. */
  code?: string;
}

/** What a job does with an object at its target key that is not the ref's own file. */
export type OnConflict = 'fail' | 'overwrite';

/**
 * One input item on its way into a job: a usable ref with the (1-based) line it came from, or a bad line.
 * Manifest parsers yield these; API and sync refs are wrapped the same way.
 */
export type JobItem = { ok: CopyRef; line: number } | { bad: BadInput };

/** jobs/<jobId>/job.json: written once by fan-out when every batch is queued. */
export interface JobRecord {
  v: 1;
  jobId: string;
  source: JobSource;
  createdAt: string;
  keyTemplate: string;
  /** Set when the job replaces objects of other identity (the default, absent, fails them `target_occupied`). */
  onConflict?: 'overwrite';
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
  /** Set for form-package jobs. */
  packages?: JobPackages;
}

/** GET /copy-jobs/{jobId} and `ekb-archive job <id>`. */
export interface JobStatus {
  jobId: string;
  createdAt: string;
  source: JobSource;
  state: 'running' | 'done' | 'done_with_failures';
  /** A form-archive request fan-out has not planned yet (nothing queued so far). */
  planning?: true;
  /** Batches queued, batches with a report, batches whose report is final. */
  batches?: { total: number; reported: number; final: number };
  totals: { refs: number; copied: number; skipped: number; failed: number; pending: number; bytes: number };
  badLines: BadInput[];
  /** Why the input stopped being read, when it did (see JobRecord.error). */
  error?: { code: string; message: string; line?: number };
  /** Form-package jobs: packages queued, unchanged and held (see JobRecord.packages). */
  packages?: JobPackages;
  failures: Array<{
    id: string;
    key: string;
    code: string;
    message: string;
    retryable: boolean;
    batchId: string;
  }>;
}
