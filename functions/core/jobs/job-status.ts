/**
 * A job's progress from what is in the bucket: job.json (what was queued) and the batch reports the copy worker
 * writes after each attempt. Every queued ref is exactly one of copied, skipped, failed or pending:
 * - a failed ref counts as failed when its failure is permanent, or when its batch report is final (no tries left);
 *   a retryable failure in a batch that will be tried again is still pending;
 * - refs of batches without a report yet are pending.
 */

import pLimit from 'p-limit';
import type { BatchReport } from '../model/batch.js';
import type { CopyResult } from '../model/copy-result.js';
import type { JobRecord, JobStatus } from '../model/job.js';
import type { ReportStore } from '../ports.js';
import { assertValidJobId, batchReportsPrefix, jobRecordKey } from './keys.js';

/** A status answer lists this many failures; totals.failed always has the full count. */
export const MAX_LISTED_FAILURES = 1000;
/** Batch reports read in parallel: a 100,000-ref job has 1,000 of them. */
export const DEFAULT_REPORT_READ_CONCURRENCY = 16;

export interface JobStatusOptions {
  maxFailures?: number;
  readConcurrency?: number;
}

/** The report that says most about a batch: the latest attempt; at equal attempts a final one, then the newest. */
function moreRecent(a: BatchReport, b: BatchReport): BatchReport {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt ? a : b;
  if (a.final !== b.final) return a.final ? a : b;
  return a.finishedAt >= b.finishedAt ? a : b;
}

function resultIdentity(result: CopyResult): string {
  return `${result.id}\u0000${result.key}\u0000${result.objectKey ?? ''}`;
}

/**
 * Pure aggregation of a record and its batch reports. Reports of other jobs or of batches the record does not list
 * are ignored; a ref reported twice in one report counts once.
 */
export function summarizeJob(
  record: JobRecord,
  reports: Iterable<BatchReport>,
  options: Pick<JobStatusOptions, 'maxFailures'> = {},
): JobStatus {
  const maxFailures = options.maxFailures ?? MAX_LISTED_FAILURES;
  const known = new Set(record.batchIds);
  const latest = new Map<string, BatchReport>();
  for (const report of reports) {
    if (report.jobId !== record.jobId || !known.has(report.batchId)) continue;
    const previous = latest.get(report.batchId);
    latest.set(report.batchId, previous === undefined ? report : moreRecent(previous, report));
  }

  const totals = { refs: record.counts.refs, copied: 0, skipped: 0, failed: 0, pending: 0, bytes: 0 };
  const failures: JobStatus['failures'] = [];
  let final = 0;
  for (const report of latest.values()) {
    if (report.final) final += 1;
    const counted = new Set<string>();
    for (const result of report.results) {
      const identity = resultIdentity(result);
      if (counted.has(identity)) continue;
      counted.add(identity);
      if (result.status === 'copied') {
        totals.copied += 1;
        totals.bytes += result.bytes;
      } else if (result.status === 'skipped') {
        totals.skipped += 1;
      } else if (report.final || !result.retryable) {
        totals.failed += 1;
        if (failures.length < maxFailures) {
          failures.push({
            id: result.id,
            key: result.key,
            code: result.code,
            message: result.message,
            retryable: result.retryable,
            batchId: report.batchId,
          });
        }
      }
    }
  }
  // Whatever is not settled is pending: refs of unreported batches, retryable failures, refs a report left out.
  totals.pending = Math.max(0, totals.refs - totals.copied - totals.skipped - totals.failed);
  const state: JobStatus['state'] =
    totals.pending > 0
      ? 'running'
      : totals.failed > 0 || record.counts.badLines > 0 || record.error !== undefined
        ? 'done_with_failures'
        : 'done';
  return {
    jobId: record.jobId,
    createdAt: record.createdAt,
    source: record.source,
    state,
    batches: { total: record.batchIds.length, reported: latest.size, final },
    totals,
    badLines: record.badLines,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.packages === undefined ? {} : { packages: record.packages }),
    failures,
  };
}

/**
 * The job's status, or undefined when there is no such job. A path-like id is a ValidationError (400), checked
 * before any key is built from it.
 */
export async function getJobStatus(
  jobId: string,
  store: ReportStore,
  reportPrefix?: string,
  options: JobStatusOptions = {},
): Promise<JobStatus | undefined> {
  assertValidJobId(jobId);
  const record = await store.getJson<JobRecord>(jobRecordKey(jobId, reportPrefix));
  if (record === undefined) return undefined;
  // One listing finds the reports written so far, so a job whose batches have not run yet costs no reads.
  const keys = (await store.list(batchReportsPrefix(jobId, reportPrefix))).filter((k) => k.endsWith('.json'));
  const read = pLimit(options.readConcurrency ?? DEFAULT_REPORT_READ_CONCURRENCY);
  const reports = await read.map(keys, (key) => store.getJson<BatchReport>(key));
  return summarizeJob(
    record,
    reports.filter((r): r is BatchReport => r !== undefined),
    options.maxFailures === undefined ? {} : { maxFailures: options.maxFailures },
  );
}
