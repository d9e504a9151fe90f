/**
 * Job input → batches, as the items stream past: repeated refs are dropped (and counted), bad lines are counted
 * (the first 1000 kept for the job record), and the rest is cut into batches of at most 100 refs, one 合思
 * downloadurls call each. A batch is also cut before its queue message would outgrow SQS's 256 KiB, so every batch
 * id a job record lists is exactly one message. Only short digests of the identities seen are held, so a
 * million-line manifest costs tens of megabytes, not the manifest.
 */
import { createHash } from 'node:crypto';
import type { BadInput, JobItem } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import type { TargetCheck } from './job-targets.js';

/** 合思's downloadurls takes at most 100 refs per call; one batch is one call. */
export const MAX_REFS_PER_BATCH = 100;
/**
 * Room for a batch's refs inside one SQS message (256 KiB = 262,144 bytes), leaving ample space for the envelope
 * (v, jobId, batchId, keyTemplate). 100 ordinary refs are ~10 KB; only long DP: keys and names come near.
 */
export const MAX_BATCH_REF_BYTES = 240_000;
/** A job record lists this many bad lines; the count is always complete. */
export const MAX_REPORTED_BAD_LINES = 1000;

/**
 * What makes two refs the same piece of work: the file (id + key) and where it goes. Refs that differ only in their
 * target (an explicit targetKey, or the vars a sync template uses) are separate copies, not duplicates.
 */
export function refDedupeKey(ref: CopyRef): string {
  const hash = createHash('sha256').update(ref.id).update('\u0000').update(ref.key);
  if (ref.targetKey !== undefined) hash.update('\u0000t').update(ref.targetKey);
  if (ref.vars !== undefined) {
    const vars = Object.entries(ref.vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    hash.update('\u0000v').update(JSON.stringify(vars));
  }
  // 128 bits: a collision among a few million refs is far less likely than a disk error.
  return hash.digest('base64').slice(0, 22);
}

export interface BatchTally {
  /** Refs kept (after de-duplication). */
  refs: number;
  duplicates: number;
  /** Every bad line, counted. */
  badLines: number;
  /** The first `maxBadLines` of them. */
  bad: BadInput[];
}

export function newBatchTally(): BatchTally {
  return { refs: 0, duplicates: 0, badLines: 0, bad: [] };
}

export interface BatchOptions {
  batchSize?: number;
  maxBatchBytes?: number;
  maxBadLines?: number;
  /** Where each distinct ref goes (job-targets.ts): refusals become bad lines, the same file twice a duplicate. */
  targets?: { check(ref: CopyRef, line: number): TargetCheck };
  /** Told every bad line as it passes (the CLI prints them at once). */
  onBad?: (bad: BadInput) => void;
}

/** Bytes a ref adds to a message's JSON (its text plus the separating comma). */
export function refBytes(ref: CopyRef): number {
  return Buffer.byteLength(JSON.stringify(ref), 'utf8') + 1;
}

/** Yields batches of distinct refs, in input order; updates `tally` as it goes (read it when the loop ends). */
export async function* batchItems(
  items: AsyncIterable<JobItem> | Iterable<JobItem>,
  tally: BatchTally,
  options: BatchOptions = {},
): AsyncGenerator<CopyRef[]> {
  const batchSize = options.batchSize ?? MAX_REFS_PER_BATCH;
  const maxBytes = options.maxBatchBytes ?? MAX_BATCH_REF_BYTES;
  const maxBad = options.maxBadLines ?? MAX_REPORTED_BAD_LINES;
  const seen = new Set<string>();
  let batch: CopyRef[] = [];
  let bytes = 0;
  const badLine = (bad: BadInput): void => {
    tally.badLines++;
    if (tally.bad.length < maxBad) tally.bad.push(bad);
    options.onBad?.(bad);
  };
  for await (const item of items) {
    if ('bad' in item) {
      badLine(item.bad);
      continue;
    }
    const id = refDedupeKey(item.ok);
    if (seen.has(id)) {
      tally.duplicates++;
      continue;
    }
    seen.add(id);
    const target = options.targets?.check(item.ok, item.line);
    if (target && 'refusal' in target) {
      badLine({ line: item.line, code: target.refusal.code, message: target.refusal.message });
      continue;
    }
    if (target && 'duplicate' in target) {
      tally.duplicates++;
      continue;
    }
    const size = refBytes(item.ok);
    if (batch.length > 0 && (batch.length >= batchSize || bytes + size > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item.ok);
    bytes += size;
    tally.refs++;
  }
  if (batch.length > 0) yield batch;
}

/** Refs from the API or a sync, numbered from 1, as job items (they were validated already). */
export function* refsAsItems(refs: Iterable<CopyRef>): Iterable<JobItem> {
  let line = 0;
  for (const ref of refs) yield { ok: ref, line: ++line };
}
