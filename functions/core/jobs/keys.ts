/**
 * Where a job's records live in the bucket and what a job id may look like. One place, so fan-out, the copy worker
 * and the jobs API agree on `jobs/<jobId>/job.json`, `jobs/<jobId>/batches/<batchId>.json` and the file index
 * `jobs/<jobId>/index/<batchId>.jsonl`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../errors.js';

export const DEFAULT_REPORT_PREFIX = 'jobs/';

/**
 * Job ids become one key segment, so they may not hold `/`, `.` or anything else path-like; the first character is
 * alphanumeric so a listing never shows an id that looks like an option. 128 characters is plenty for the
 * time-stamped ids below and the sync's `sync-<stamp>-<hex>`.
 */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isValidJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}

/** `jobs/` (or the configured prefix), always ending in exactly one `/`; an empty prefix stays empty. */
export function normalizeReportPrefix(prefix: string = DEFAULT_REPORT_PREFIX): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

export function jobPrefix(jobId: string, prefix?: string): string {
  return `${normalizeReportPrefix(prefix)}${jobId}/`;
}

export function jobRecordKey(jobId: string, prefix?: string): string {
  return `${jobPrefix(jobId, prefix)}job.json`;
}

export function batchReportsPrefix(jobId: string, prefix?: string): string {
  return `${jobPrefix(jobId, prefix)}batches/`;
}

export function batchReportKey(jobId: string, batchId: string, prefix?: string): string {
  return `${batchReportsPrefix(jobId, prefix)}${batchId}.json`;
}

/** Where a job's file index lives: one JSON-lines object per batch (`jobs/<jobId>/index/<batchId>.jsonl`). */
export function fileIndexPrefix(jobId: string, prefix?: string): string {
  return `${jobPrefix(jobId, prefix)}index/`;
}

export function fileIndexKey(jobId: string, batchId: string, prefix?: string): string {
  return `${fileIndexPrefix(jobId, prefix)}${batchId}.jsonl`;
}

/** The batch id of the index-th batch (0-based): `b00001`, `b00002`, … (wider past 99,999 batches). */
export function batchIdFor(index: number): string {
  return `b${String(index + 1).padStart(5, '0')}`;
}

/** `2025-06-23T05:00:17.123Z` → `20250623T050017Z`: ids sort by creation time in a listing. */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A fresh id for an API or CLI job: time-sortable, 64 random bits so two jobs in one second never collide. */
export function newJobId(now: Date, random: () => string = () => randomBytes(8).toString('hex')): string {
  return `${compactTimestamp(now)}-${random()}`;
}

export interface ManifestObjectIdentity {
  bucket: string;
  key: string;
  eTag?: string;
  versionId?: string;
  /** The S3 event's sequencer: unique per write of a key, the same when the same event is delivered again. */
  sequencer?: string;
  /** When the object was written (the S3 event's eventTime). */
  eventTime: Date;
}

/**
 * The job id for a manifest upload, derived from the upload itself: a redelivered S3 event (same object version,
 * same sequencer) maps to the same job, so fan-out can see job.json already exists and do nothing; uploading the
 * manifest again is a new write (new sequencer) and so a new job.
 */
export function manifestJobId(identity: ManifestObjectIdentity): string {
  const digest = createHash('sha256')
    .update(
      [
        identity.bucket,
        identity.key,
        identity.versionId ?? '',
        identity.eTag ?? '',
        identity.sequencer ?? '',
      ].join('\u0000'),
    )
    .digest('hex')
    .slice(0, 16);
  return `${compactTimestamp(identity.eventTime)}-m${digest}`;
}

/** Throws ValidationError (400) naming the rule when `value` cannot be a job id. */
export function assertValidJobId(value: string): void {
  if (!isValidJobId(value)) {
    throw new ValidationError(
      'job id must be 1 to 128 letters, digits, "-" or "_", starting with a letter or digit',
    );
  }
}
