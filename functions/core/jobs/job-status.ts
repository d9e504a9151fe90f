/**
 * A job's progress from what is in the bucket: job.json (what was queued) and the batch reports the copy worker
 * writes after each attempt. Every queued ref is exactly one of copied, skipped, failed or pending:
 * - a failed ref counts as failed when its failure is permanent, or when its batch report is final (no tries left);
 *   a retryable failure in a batch that will be tried again is still pending;
 * - refs of batches without a report yet are pending.
 */
import { assertValidJobId, batchReportKey, batchReportsPrefix, jobRecordKey } from './keys.js';
import type { BatchReport, JobRecord, JobStatus, ReportStore } from './types.js';

/** A status answer lists this many failures; totals.failed always has the full count. */
export const MAX_LISTED_FAILURES = 1000;
/** Batch reports read in parallel: a 100,000-ref job has 1,000 of them. */
export const DEFAULT_REPORT_READ_CONCURRENCY = 16;

export interface JobStatusOptions {
  maxFailures?: number;
}

export interface JobStatusDeps extends JobStatusOptions {
  store: ReportStore;
  reportPrefix?: string;
  readConcurrency?: number;
}

/** Pure aggregation of a record and its batch reports (reports of batches the record does not list are ignored). */
export function summarizeJob(
  record: JobRecord,
  reports: Iterable<BatchReport>,
  options: JobStatusOptions = {},
): JobStatus {
  const maxFailures = options.maxFailures ?? MAX_LISTED_FAILURES;
  const known = new Set(record.batchIds);
  const totals = { refs: record.counts.refs, copied: 0, skipped: 0, failed: 0, pending: 0, bytes: 0 };
  const failures: JobStatus['failures'] = [];
  const batches = { total: record.batchIds.length, reported: 0, final: 0 };
  const seen = new Set<string>();
  for (const report of reports) {
    if (!known.has(report.batchId) || seen.has(report.batchId)) continue;
    seen.add(report.batchId);
    batches.reported += 1;
    if (report.final) batches.final += 1;
    for (const result of report.results) {
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
    batches,
    totals,
    badLines: record.badLines,
    ...(record.error ? { error: record.error } : {}),
    failures,
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The job's status, or undefined when there is no such job. A path-like id is a ValidationError. */
export async function getJobStatus(jobId: string, deps: JobStatusDeps): Promise<JobStatus | undefined> {
  assertValidJobId(jobId);
  const record = await deps.store.getJson<JobRecord>(jobRecordKey(jobId, deps.reportPrefix));
  if (record === undefined) return undefined;
  // One listing finds the reports written so far, so a job whose batches have not run yet costs no reads.
  const prefix = batchReportsPrefix(jobId, deps.reportPrefix);
  const listed = new Set(await deps.store.list(prefix));
  const keys = record.batchIds
    .map((batchId) => batchReportKey(jobId, batchId, deps.reportPrefix))
    .filter((key) => listed.has(key));
  const reports = await mapLimit(keys, deps.readConcurrency ?? DEFAULT_REPORT_READ_CONCURRENCY, (key) =>
    deps.store.getJson<BatchReport>(key),
  );
  return summarizeJob(
    record,
    reports.filter((r): r is BatchReport => r !== undefined),
    deps.maxFailures === undefined ? {} : { maxFailures: deps.maxFailures },
  );
}
