/**
 * Job creation, for every source (manifest upload, API, sync, CLI): stream the items, de-duplicate, cut batches of
 * ≤100 refs, queue one message per batch, and only then write `jobs/<jobId>/job.json`.
 *
 * - Idempotent per job id: when job.json exists the job was queued before (a redelivered S3 event, a retried
 *   invocation) and nothing is sent again.
 * - job.json is the proof that every batch was queued: when queuing or reading fails part way, nothing is written
 *   and the error is thrown, so the caller's retry (same id for a manifest) queues the job again. Messages the
 *   failed attempt queued are then repeated, which is safe: the copy worker skips files already archived.
 * - Input that is unusable as a whole (ValidationError from a parser: CSV header without "id", not a JSON array)
 *   is not worth retrying: job.json is written with `error`, and the batches queued before the error still run.
 * - With `lanes`, every ref's object key is checked as it streams past (attachments/job-targets.ts): a key outside
 *   the archive lanes or inside a system lane, and a second file on a key the job already gave away, become bad
 *   lines with their rule's code; the good refs still run.
 */
import {
  type BatchOptions,
  batchItems,
  MAX_REPORTED_BAD_LINES,
  newBatchTally,
  refsAsItems,
} from '../attachments/batching.js';
import { JobTargets } from '../attachments/job-targets.js';
import { keyTemplateProblem, type Lanes } from '../attachments/lanes.js';
import { AppError, ValidationError } from '../errors.js';
import type { BatchMessage } from '../model/batch.js';
import type { BadInput, JobItem, JobRecord, JobSource } from '../model/job.js';
import type { CopyRef } from '../model/refs.js';
import { type BatchQueue, type Logger, type ReportStore, silentLogger } from '../ports.js';
import { assertValidJobId, batchIdFor, jobRecordKey } from './keys.js';

/** Messages handed to the queue at once: one SendMessageBatch's worth, so memory stays at ~1,000 refs. */
export const MESSAGES_PER_SEND = 10;

export interface CreateJobInput {
  jobId: string;
  source: JobSource;
  items: AsyncIterable<JobItem> | Iterable<JobItem>;
  keyTemplate: string;
  /**
   * Throw a ValidationError from the input instead of recording it in job.json (the CLI reports it and exits).
   * Batches queued before it are not recalled.
   */
  rejectInvalidManifest?: boolean;
  /** `overwrite`: the job replaces objects of other identity at its keys (default: they fail target_occupied). */
  onConflict?: 'overwrite';
  /** Told every bad line (parser's or target check's) as it passes. */
  onBadItem?: (bad: BadInput) => void;
  /**
   * When job.json exists, queue the job's batches again instead of doing nothing (the CLI resuming a job with the
   * same --job-id; its copy side skips what is settled). The same input cuts the same batches: each is checked
   * against the record as it is cut, and input that differs stops with a ValidationError before its batch is queued.
   */
  resume?: boolean;
}

export interface CreateJobDeps {
  queue: BatchQueue;
  store: ReportStore;
  now?: () => Date;
  logger?: Logger;
  /** Default `jobs/`. */
  reportPrefix?: string;
  signal?: AbortSignal;
  batch?: BatchOptions;
  /**
   * The bucket's lanes (config): the template is checked whole before anything is queued, and every ref's object
   * key as it passes. Every deployed caller passes them; without, keys are checked only by the copy worker.
   */
  lanes?: Lanes;
}

export interface CreateJobResult {
  record: JobRecord;
  /** false when job.json already existed and nothing was queued. */
  created: boolean;
}

export async function createJob(input: CreateJobInput, deps: CreateJobDeps): Promise<JobRecord> {
  return (await createJobOnce(input, deps)).record;
}

/** createJob, also telling whether this call created the job or found it done already. */
export async function createJobOnce(input: CreateJobInput, deps: CreateJobDeps): Promise<CreateJobResult> {
  assertValidJobId(input.jobId);
  const log = (deps.logger ?? silentLogger).child({ jobId: input.jobId });
  const recordKey = jobRecordKey(input.jobId, deps.reportPrefix);
  const existing = await deps.store.getJson<JobRecord>(recordKey);
  if (existing !== undefined && input.resume !== true) {
    log.info('job already queued; nothing sent again', { batches: existing.counts.batches });
    return { record: existing, created: false };
  }

  if (deps.lanes) {
    const problem = keyTemplateProblem(input.keyTemplate, deps.lanes);
    if (problem) throw new ValidationError(`"keyTemplate": ${problem.message}`);
  }
  const batchOptions: BatchOptions = {
    ...deps.batch,
    ...(deps.lanes ? { targets: new JobTargets(deps.lanes, input.keyTemplate, input.jobId) } : {}),
    ...(input.onBadItem ? { onBad: input.onBadItem } : {}),
  };
  const tally = newBatchTally();
  const batchIds: string[] = [];
  const batchSizes: number[] = [];
  let pending: BatchMessage[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const messages = pending;
    pending = [];
    await deps.queue.sendBatches(messages, deps.signal);
  };

  let error: JobRecord['error'];
  // A ValidationError from the input ends the input, not the job: the items before it (including the last,
  // partial batch) are still batched and queued.
  async function* untilUnusable(): AsyncGenerator<JobItem> {
    try {
      yield* input.items;
    } catch (err) {
      if (!(err instanceof ValidationError) || input.rejectInvalidManifest === true) throw err;
      error = { code: err.code, message: err.message };
      log.warn('job input unusable past this point; queuing what came before', { error: err.message });
    }
  }
  const onConflict = input.onConflict === 'overwrite' ? { onConflict: input.onConflict } : {};
  for await (const refs of batchItems(untilUnusable(), tally, batchOptions)) {
    if (existing) assertSameBatch(existing, batchIds.length, refs.length);
    const batchId = batchIdFor(batchIds.length);
    batchIds.push(batchId);
    batchSizes.push(refs.length);
    pending.push({ v: 1, jobId: input.jobId, batchId, refs, keyTemplate: input.keyTemplate, ...onConflict });
    if (pending.length >= MESSAGES_PER_SEND) await flush();
  }
  await flush();
  if (existing) {
    assertSameJob(existing, tally.refs, batchIds.length);
    log.info('job queued again to resume it', { batches: batchIds.length });
    return { record: existing, created: false };
  }

  const record: JobRecord = {
    v: 1,
    jobId: input.jobId,
    source: input.source,
    createdAt: (deps.now?.() ?? new Date()).toISOString(),
    keyTemplate: input.keyTemplate,
    ...onConflict,
    counts: {
      refs: tally.refs,
      batches: batchIds.length,
      duplicates: tally.duplicates,
      badLines: tally.badLines,
    },
    badLines: tally.bad.slice(0, MAX_REPORTED_BAD_LINES),
    batchIds,
    batchSizes,
    ...(error === undefined ? {} : { error }),
  };
  await deps.store.putJson(recordKey, record);
  log.info('job queued', { ...record.counts, ...(error ? { error: error.message } : {}) });
  return { record, created: true };
}

/** The input of a resumed job differs from the one it was created from. */
function differs(record: JobRecord, what: string): ValidationError {
  return new ValidationError(
    `job ${record.jobId} was created from other input (${what}); give the same manifest, or another job id`,
  );
}

function assertSameBatch(record: JobRecord, index: number, size: number): void {
  if (index >= record.batchIds.length) {
    throw differs(record, `more than its ${record.counts.refs} refs in ${record.counts.batches} batches`);
  }
  const expected = record.batchSizes?.[index];
  if (expected !== undefined && expected !== size) {
    throw differs(record, `batch ${batchIdFor(index)} held ${expected} refs, this input gives it ${size}`);
  }
}

function assertSameJob(record: JobRecord, refs: number, batches: number): void {
  if (refs !== record.counts.refs || batches !== record.counts.batches) {
    throw differs(
      record,
      `${record.counts.refs} refs in ${record.counts.batches} batches; this input has ${refs} in ${batches}`,
    );
  }
}

/**
 * A job record for a job whose input could not be opened at all (manifest missing or unreadable as a whole): the
 * user finds the reason where the job would be. Does nothing when the job exists already.
 */
export async function recordFailedJob(
  input: Omit<CreateJobInput, 'items'>,
  error: unknown,
  deps: Pick<CreateJobDeps, 'store' | 'now' | 'reportPrefix' | 'logger'>,
): Promise<JobRecord> {
  assertValidJobId(input.jobId);
  const recordKey = jobRecordKey(input.jobId, deps.reportPrefix);
  const existing = await deps.store.getJson<JobRecord>(recordKey);
  if (existing !== undefined) return existing;
  const record: JobRecord = {
    v: 1,
    jobId: input.jobId,
    source: input.source,
    createdAt: (deps.now?.() ?? new Date()).toISOString(),
    keyTemplate: input.keyTemplate,
    counts: { refs: 0, batches: 0, duplicates: 0, badLines: 0 },
    badLines: [],
    batchIds: [],
    batchSizes: [],
    error:
      error instanceof AppError
        ? { code: error.code, message: error.message }
        : { code: 'input_unreadable', message: 'the job input could not be read' },
  };
  await deps.store.putJson(recordKey, record);
  (deps.logger ?? silentLogger).warn('job recorded as failed', { jobId: input.jobId, error: record.error });
  return record;
}

/**
 * A job starter for sources that already hold validated refs (scheduled sync, API): `startJob({jobId, source,
 * items: CopyRef[], keyTemplate})` → the job record (which carries jobId).
 */
export function refsJobStarter(
  deps: CreateJobDeps,
  options: Pick<CreateJobInput, 'onBadItem'> = {},
): (input: Omit<CreateJobInput, 'items'> & { items: Iterable<CopyRef> }) => Promise<JobRecord> {
  return (input) => createJob({ ...options, ...input, items: refsAsItems(input.items) }, deps);
}
