/**
 * What a verify run compares the bucket with, read a piece at a time so memory stays bounded whatever the size:
 * - a job: its file index, batch by batch, plus each file its batch report says was copied or found but the index
 *   has no record of (`reportedOnly`: unrecorded, or missing);
 * - a prefix: the objects listed under it, page by page, each checked against its own proof; the system lanes
 *   (jobs/, sync/, manifests/, verify/) are left out;
 * - keys: object keys, or lines of an exported index (`ekb-archive job <id> --index`), one per line.
 */
import { AppError, ErrorCode } from '../errors.js';
import { parseIndex } from '../jobs/file-index.js';
import { batchReportKey, fileIndexKey, jobRecordKey, normalizeReportPrefix } from '../jobs/keys.js';
import type { BatchReport } from '../model/batch.js';
import type { FileRecord } from '../model/copy-result.js';
import type { JobRecord } from '../model/job.js';
import type { ExpectedObject } from '../model/verify.js';
import type { ArchiveReader, ReportStore, TextStore } from '../ports.js';

export interface JobSourceDeps {
  reports: ReportStore;
  index: TextStore;
  reportPrefix?: string;
}

export async function jobRecordOf(
  jobId: string,
  deps: Pick<JobSourceDeps, 'reports' | 'reportPrefix'>,
): Promise<JobRecord> {
  const record = await deps.reports.getJson<JobRecord>(jobRecordKey(jobId, deps.reportPrefix));
  if (!record) throw new AppError(ErrorCode.JobNotFound, `there is no job ${jobId}`, { status: 404 });
  return record;
}

/** One batch of a job: what its index recorded, and what its report claims beyond that. */
export async function jobBatchItems(
  jobId: string,
  batchId: string,
  deps: JobSourceDeps,
): Promise<ExpectedObject[]> {
  const indexKey = fileIndexKey(jobId, batchId, deps.reportPrefix);
  const text = await deps.index.getText(indexKey);
  const lines = text === undefined ? [] : parseIndex(text, indexKey);
  const items: ExpectedObject[] = lines.map(({ outcome: _outcome, ...record }) => ({
    objectKey: record.objectKey,
    record,
    jobId,
    batchId,
  }));
  const recorded = new Set(lines.map((l) => l.objectKey));
  const report = await deps.reports.getJson<BatchReport>(batchReportKey(jobId, batchId, deps.reportPrefix));
  for (const r of report?.results ?? []) {
    if (r.status === 'failed' || recorded.has(r.objectKey)) continue;
    recorded.add(r.objectKey);
    items.push({ objectKey: r.objectKey, reportedOnly: true, jobId, batchId });
  }
  return items;
}

/** A job's batches from position `from` on, each with its items. */
export async function* jobItems(
  record: JobRecord,
  deps: JobSourceDeps,
  from = 0,
): AsyncGenerator<{ position: number; items: ExpectedObject[] }> {
  for (let position = from; position < record.batchIds.length; position++) {
    const batchId = record.batchIds[position] as string;
    yield { position, items: await jobBatchItems(record.jobId, batchId, deps) };
  }
}

/** Prefixes whose objects are the system's own (never archived files): a prefix verify leaves them out. */
export function systemPrefixes(reportPrefix?: string): string[] {
  return [normalizeReportPrefix(reportPrefix), 'sync/', 'manifests/', 'verify/'].filter((p) => p !== '');
}

/** The archive's objects under `prefix` after `startAfter`, one listing page at a time. */
export async function* prefixItems(
  reader: ArchiveReader,
  prefix: string,
  options: { startAfter?: string; reportPrefix?: string; signal?: AbortSignal } = {},
): AsyncGenerator<{ last: string | undefined; items: ExpectedObject[] }> {
  const system = systemPrefixes(options.reportPrefix);
  let after = options.startAfter;
  for (;;) {
    const page = await reader.list(prefix, after, options.signal);
    const items = page.objects
      .filter((o) => !system.some((s) => o.key.startsWith(s)))
      .map((o) => ({ objectKey: o.key }));
    after = page.objects.at(-1)?.key ?? after;
    yield { last: after, items };
    if (!page.truncated || page.objects.length === 0) return;
  }
}

export type KeyLine = { item: ExpectedObject } | { bad: { line: number; message: string } } | { skip: true };

function isRecord(o: Record<string, unknown>): boolean {
  return typeof o.objectKey === 'string' && typeof o.sha256 === 'string' && typeof o.size === 'number';
}

/**
 * One line of a keys file: an object key as is, or a JSON object with `objectKey` (and, for an exported index
 * line, `size` and `sha256`: then it is the expectation). Blank lines and `#` comments are skipped.
 */
export function parseKeyLine(raw: string, line: number): KeyLine {
  const text = raw.replace(/\r$/, '');
  if (text.trim() === '' || text.startsWith('#')) return { skip: true };
  if (!text.trimStart().startsWith('{')) return { item: { objectKey: text, line } };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { bad: { line, message: 'not JSON (a key line is the key itself, or an index line)' } };
  }
  if (o === null || typeof o !== 'object' || typeof o.objectKey !== 'string' || o.objectKey === '') {
    return { bad: { line, message: 'a JSON line needs "objectKey"' } };
  }
  if (!isRecord(o)) return { item: { objectKey: o.objectKey, line } };
  const { outcome: _outcome, ...record } = o;
  return { item: { objectKey: o.objectKey, record: record as unknown as FileRecord, line } };
}
