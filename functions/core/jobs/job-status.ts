/**
 * A job's progress from its records: job.json (what was queued) and the batch reports the copy worker writes after
 * each attempt. A ref counts as failed only when no retry is coming for it (its report is final, or the failure is
 * not retryable); until then it is pending, like every ref of a batch without a report.
 */
import type { CopyResult } from '../copy/types.js';
import { assertValidJobId, batchReportsPrefix, jobRecordKey } from './keys.js';
import type { BatchReport, JobRecord, JobStatus, ReportStore } from './types.js';

/** The status lists this many failures; totals.failed has the full number. */
export const MAX_LISTED_FAILURES = 1000;
/** Batch reports read at once: a 10,000-batch job reads in seconds without a flood of requests. */
export const REPORT_READ_CONCURRENCY = 16;

/** The report that says most about a batch: the latest attempt; at equal attempts a final one, then the newest. */
function newer(a: BatchReport, b: BatchReport): BatchReport {
  if (a.attempt !== b.attempt) return a.attempt > b.attempt ? a : b;
  if (a.final !== b.final) return a.final ? a : b;
  return a.finishedAt >= b.finishedAt ? a : b;
}

/** Pure: the status from a job record and any of its batch reports (unrelated or stale ones are ignored). */
export function summarizeJob(record: JobRecord, reports: Iterable<BatchReport>): JobStatus {
  const known = new Set(record.batchIds);
  const latest = new Map<string, BatchReport>();
  for (const r of reports) {
    if (r.jobId !== record.jobId || !known.has(r.batchId)) continue;
    const prev = latest.get(r.batchId);
    latest.set(r.batchId, prev === undefined ? r : newer(prev, r));
  }
  const totals = { refs: record.counts.refs, copied: 0, skipped: 0, failed: 0, pending: 0, bytes: 0 };
  const failures: JobStatus['failures'] = [];
  let final = 0;
  record.batchIds.forEach((batchId, i) => {
    const size = record.batchSizes?.[i];
    const report = latest.get(batchId);
    if (report === undefined) {
      if (size !== undefined) totals.pending += size;
      return;
    }
    if (report.final) final++;
    let settled = 0;
    const counted = new Set<string>();
    for (const result of report.results) {
      // A worker that reports one ref twice (retry within an attempt) must not count it twice.
      const id = `${result.id}\u0000${result.key}\u0000${'objectKey' in result ? (result.objectKey ?? '') : ''}`;
      if (counted.has(id)) continue;
      counted.add(id);
      settled += count(result, report, batchId, totals, failures);
    }
    if (size !== undefined) totals.pending += Math.max(0, size - settled);
  });
  if (record.batchSizes === undefined) {
    // Records without batch sizes: whatever is not settled is pending.
    totals.pending = Math.max(0, totals.refs - totals.copied - totals.skipped - totals.failed);
  }
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
    failures,
  };
}

/** Adds one result to the totals; returns 1 when the ref is settled (copied, skipped or finally failed), else 0. */
function count(
  result: CopyResult,
  report: BatchReport,
  batchId: string,
  totals: JobStatus['totals'],
  failures: JobStatus['failures'],
): number {
  switch (result.status) {
    case 'copied':
      totals.copied++;
      totals.bytes += result.bytes;
      return 1;
    case 'skipped':
      totals.skipped++;
      return 1;
    case 'failed':
      if (result.retryable && !report.final) return 0;
      totals.failed++;
      if (failures.length < MAX_LISTED_FAILURES) {
        failures.push({
          id: result.id,
          key: result.key,
          code: result.code,
          message: result.message,
          retryable: result.retryable,
          batchId,
        });
      }
      return 1;
  }
}

/** undefined when there is no such job. Throws ValidationError for an id that cannot be one. */
export async function getJobStatus(
  jobId: string,
  store: ReportStore,
  reportPrefix?: string,
): Promise<JobStatus | undefined> {
  assertValidJobId(jobId);
  const record = await store.getJson<JobRecord>(jobRecordKey(jobId, reportPrefix));
  if (record === undefined) return undefined;
  const keys = (await store.list(batchReportsPrefix(jobId, reportPrefix))).filter((k) => k.endsWith('.json'));
  const reports: BatchReport[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++] as string;
      const report = await store.getJson<BatchReport>(key);
      if (report !== undefined) reports.push(report);
    }
  };
  await Promise.all(Array.from({ length: Math.min(REPORT_READ_CONCURRENCY, keys.length) }, worker));
  return summarizeJob(record, reports);
}
