/** Verify runs: what is compared, what each object's check found, and how a run in AWS is cut into parts. */
import type { FileRecord, S3Checksum } from './copy-result.js';

/**
 * What one object is expected to be: a recorded file (a job's index line, or a line of an exported index), or
 * only a key, whose object is then checked against the proof it carries itself (metadata `sha256` / its tag).
 */
export interface ExpectedObject {
  objectKey: string;
  record?: FileRecord;
  /** The job's report says this file was copied or found, but its index has no record of it. */
  reportedOnly?: boolean;
  /** Where the expectation came from, for the finding (job and batch, or the line of a keys file). */
  jobId?: string;
  batchId?: string;
  line?: number;
}

export type FindingStatus = 'ok' | 'changed' | 'missing' | 'unrecorded' | 'error';

export interface ObjectFacts {
  size?: number;
  sha256?: string;
  s3Checksum?: S3Checksum;
  versionId?: string;
}

export interface Finding {
  objectKey: string;
  status: FindingStatus;
  /** How the bytes were compared: S3's stored checksum (no download), or the SHA-256 of the bytes read. */
  method?: 's3-checksum' | 'sha256';
  /** Why, in a sentence (always set unless ok). */
  detail?: string;
  expected?: ObjectFacts;
  actual?: ObjectFacts;
  fileId?: string;
  jobId?: string;
  batchId?: string;
  line?: number;
}

export interface VerifyTotals {
  checked: number;
  ok: number;
  changed: number;
  missing: number;
  unrecorded: number;
  errors: number;
  /** Bytes read to hash (0 when every object was compared by S3's checksum). */
  bytesRead: number;
}

export function newVerifyTotals(): VerifyTotals {
  return { checked: 0, ok: 0, changed: 0, missing: 0, unrecorded: 0, errors: 0, bytesRead: 0 };
}

export function addFinding(totals: VerifyTotals, finding: Finding): void {
  totals.checked += 1;
  if (finding.status === 'error') totals.errors += 1;
  else totals[finding.status] += 1;
}

export function addTotals(into: VerifyTotals, more: VerifyTotals): void {
  for (const k of Object.keys(into) as Array<keyof VerifyTotals>) into[k] += more[k];
}

/** Anything that differs or could not be checked. */
export const differs = (t: VerifyTotals): boolean => t.changed + t.missing + t.unrecorded + t.errors > 0;

/** What a run compares. */
export type VerifyScope =
  | { kind: 'job'; jobId: string }
  | { kind: 'prefix'; prefix: string }
  /** Keys (or exported index lines) kept in the run's request record. */
  | { kind: 'keys' };

/** `verify/<runId>/request.json`: what was asked, when. */
export interface VerifyRequestRecord {
  v: 1;
  runId: string;
  scope: VerifyScope;
  deep: boolean;
  createdAt: string;
  /** For scope keys: the object keys or index lines to check (≤ 10,000). */
  keys?: Array<string | FileRecord>;
}

/** One unit of a run on the verify queue: part `part` starts after `cursor`. */
export interface VerifyMessage {
  v: 1;
  runId: string;
  part: number;
  cursor?: string;
}

/** `verify/<runId>/parts/<part>.json`: one unit's totals; `next` when the run goes on after it. */
export interface VerifyPartSummary {
  v: 1;
  runId: string;
  part: number;
  cursor?: string;
  next?: string;
  done: boolean;
  totals: VerifyTotals;
  finishedAt: string;
}

/** GET /verify-jobs/{runId}. */
export interface VerifyStatus {
  runId: string;
  scope: VerifyScope;
  deep: boolean;
  createdAt: string;
  state: 'running' | 'ok' | 'differs';
  parts: number;
  totals: VerifyTotals;
  /** The first findings that are not ok (capped). */
  findings: Finding[];
}
