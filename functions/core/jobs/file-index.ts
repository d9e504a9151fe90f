/**
 * A job's file index: the proof record of every file the job put in (or found in) the bucket, one JSON line per
 * file, one object per batch: `jobs/<jobId>/index/<batchId>.jsonl`. Readable by a person (`jq`, a spreadsheet after
 * `--format csv`) and a script; `ekb-archive verify --job` checks the bucket against it.
 *
 * The copy worker writes a batch's index after every attempt. A later attempt finds the files an earlier one copied
 * and skips them; it rebuilds their records from the objects where it can, and otherwise keeps the earlier
 * attempt's lines (merged by object key), so no record is lost to a retry.
 */
import { AppError, ErrorCode } from '../errors.js';
import type { CopyResult, FileRecord } from '../model/copy-result.js';
import type { TextStore } from '../ports.js';
import { fileIndexKey, fileIndexPrefix } from './keys.js';

export const INDEX_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

/** One line of the index: a file's record, and whether this job copied it or found it already archived. */
export type IndexLine = FileRecord & { outcome: 'copied' | 'skipped' };

/** The index lines a batch's results give (failed refs, and results without a record, give none). */
export function indexLines(results: readonly CopyResult[]): IndexLine[] {
  const lines: IndexLine[] = [];
  for (const r of results) {
    // A report written before records existed (a job resumed from it) has copied results without one.
    if (r.status === 'copied' && r.record) lines.push({ ...r.record, outcome: 'copied' });
    else if (r.status === 'skipped' && r.record) lines.push({ ...r.record, outcome: 'skipped' });
  }
  return lines;
}

const invalid = (message: string) => new AppError(ErrorCode.ReportInvalid, message, { retryable: false });

/** Parses an index object's text; a line that is not a record is an error naming the object and line. */
export function parseIndex(text: string, where: string): IndexLine[] {
  const lines: IndexLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      throw invalid(`${where} line ${i + 1} is not JSON`);
    }
    const o = line as Partial<IndexLine> | null;
    if (typeof o?.objectKey !== 'string' || typeof o.sha256 !== 'string' || typeof o.size !== 'number') {
      throw invalid(`${where} line ${i + 1} is not a file record (objectKey, size, sha256)`);
    }
    lines.push(o as IndexLine);
  });
  return lines;
}

const toText = (lines: readonly IndexLine[]): string => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

export interface WriteIndexInput {
  jobId: string;
  batchId: string;
  attempt: number;
  results: readonly CopyResult[];
  reportPrefix?: string;
}

/**
 * Writes the batch's index; on a retry, merged with what the earlier attempts recorded. A batch that recorded
 * nothing (every ref failed) writes no index.
 */
export async function writeBatchIndex(input: WriteIndexInput, store: TextStore): Promise<string | undefined> {
  const key = fileIndexKey(input.jobId, input.batchId, input.reportPrefix);
  const fresh = indexLines(input.results);
  let lines = fresh;
  if (input.attempt > 1) {
    const before = await store.getText(key);
    if (before !== undefined) {
      const now = new Set(fresh.map((l) => l.objectKey));
      lines = [...parseIndex(before, key).filter((l) => !now.has(l.objectKey)), ...fresh];
    }
  }
  if (lines.length === 0) return undefined;
  await store.putText(key, toText(lines), INDEX_CONTENT_TYPE);
  return key;
}

/** The index objects of a job, in batch order. */
export async function jobIndexKeys(
  jobId: string,
  store: TextStore,
  reportPrefix?: string,
): Promise<string[]> {
  const keys = await store.list(fileIndexPrefix(jobId, reportPrefix));
  return keys.filter((k) => k.endsWith('.jsonl')).sort();
}

/**
 * Every line of a job's index, one batch object at a time (memory: one batch, ≤100 lines), from the batch after
 * `after` (a batch id) when given.
 */
export async function* readJobIndex(
  jobId: string,
  store: TextStore,
  options: { reportPrefix?: string; after?: string } = {},
): AsyncGenerator<{ batchId: string; lines: IndexLine[] }> {
  const prefix = fileIndexPrefix(jobId, options.reportPrefix);
  for (const key of await jobIndexKeys(jobId, store, options.reportPrefix)) {
    const batchId = key.slice(prefix.length, -'.jsonl'.length);
    if (options.after !== undefined && batchId <= options.after) continue;
    const text = await store.getText(key);
    if (text !== undefined) yield { batchId, lines: parseIndex(text, key) };
  }
}

export const CSV_COLUMNS = [
  'objectKey',
  'versionId',
  'size',
  'sha256',
  'sourceCrc64',
  'sourceMd5',
  'sourceVerified',
  's3ChecksumAlgorithm',
  's3Checksum',
  'fileId',
  'ekbKey',
  'at',
  'outcome',
] as const;

/**
 * One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (starting = + - @, tab or CR) is
 * prefixed with `'`; the JSON-lines form keeps every value exactly.
 */
function cell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(l: IndexLine): string {
  return `${[
    l.objectKey,
    l.versionId,
    l.size,
    l.sha256,
    l.source?.crc64,
    l.source?.md5,
    l.source?.verified,
    l.s3Checksum?.algorithm,
    l.s3Checksum?.value,
    l.fileId,
    l.ekbKey,
    l.at,
    l.outcome,
  ]
    .map(cell)
    .join(',')}\r\n`;
}

export const ndjsonRow = (l: IndexLine): string => `${JSON.stringify(l)}\n`;

export type IndexFormat = 'ndjson' | 'csv';

export interface IndexPage {
  text: string;
  /** The last batch in this page, when more batches follow: ask again with `after` = this. */
  next?: string;
  lines: number;
}

/**
 * One page of a job's index as text, whole batches only, up to about `maxBytes` (at least one batch): what an API
 * answer can carry (a Lambda response is at most 6 MB). The CSV header starts the first page only.
 */
export async function readIndexPage(
  jobId: string,
  store: TextStore,
  options: { reportPrefix?: string; after?: string; maxBytes: number; format: IndexFormat },
): Promise<IndexPage> {
  const row = options.format === 'csv' ? csvRow : ndjsonRow;
  const parts: string[] = options.format === 'csv' && options.after === undefined ? [csvHeader()] : [];
  let bytes = 0;
  let lines = 0;
  let last: string | undefined;
  for await (const page of readJobIndex(jobId, store, options)) {
    if (last !== undefined && bytes >= options.maxBytes) return { text: parts.join(''), next: last, lines };
    for (const line of page.lines) {
      const text = row(line);
      parts.push(text);
      bytes += Buffer.byteLength(text);
    }
    lines += page.lines.length;
    last = page.batchId;
  }
  return { text: parts.join(''), lines };
}
