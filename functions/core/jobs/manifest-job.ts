/**
 * A job from a manifest object: open it as a stream, parse it (format from the key's extension or the content) and
 * hand the items to createJob. Shared by fan-out (S3 upload events) and POST /copy-jobs {"manifest": "s3://…"}.
 *
 * A manifest that is unusable from its very start (missing, forbidden, a CSV header without "id", not a JSON
 * array) either becomes a job record carrying the error (fan-out: the uploader finds the reason where the job would
 * be, and a retry would not help) or, with `rejectUnusable`, is thrown before anything is queued or written (the
 * API answers 400). Problems found later in the file are recorded in the job as usual.
 */
import { parseManifest } from '../attachments/manifest.js';
import { AppError } from '../errors.js';
import type { JobItem, JobRecord, JobSource } from '../model/job.js';
import type { ManifestSource } from '../ports.js';
import { type CreateJobDeps, type CreateJobResult, createJobOnce, recordFailedJob } from './create-job.js';
import { assertValidJobId, jobRecordKey } from './keys.js';

export interface ManifestJobInput {
  jobId: string;
  bucket: string;
  key: string;
  keyTemplate: string;
  /** Default `{kind: 'manifest', bucket, key}`. */
  source?: JobSource;
  rejectUnusable?: boolean;
  /** `overwrite`: replace objects of other identity (POST /copy-jobs {"onConflict": "overwrite"}). */
  onConflict?: 'overwrite';
}

export interface ManifestJobDeps extends CreateJobDeps {
  manifests: ManifestSource;
}

/** Errors that say the manifest itself is unusable (a retry would see the same), as opposed to a failed read. */
function isUnusable(err: unknown): err is AppError {
  return err instanceof AppError && !err.retryable && err.status >= 400 && err.status < 500;
}

export async function runManifestJob(
  input: ManifestJobInput,
  deps: ManifestJobDeps,
): Promise<CreateJobResult> {
  const { jobId, bucket, key, keyTemplate } = input;
  assertValidJobId(jobId);
  const source: JobSource = input.source ?? { kind: 'manifest', bucket, key };
  // Checked before the manifest is opened: a redelivered event costs one small read, not a second pass.
  const existing = await deps.store.getJson<JobRecord>(jobRecordKey(jobId, deps.reportPrefix));
  if (existing !== undefined) return { record: existing, created: false };

  const unusable = async (err: AppError): Promise<CreateJobResult> => {
    if (input.rejectUnusable) throw err;
    return { record: await recordFailedJob({ jobId, source, keyTemplate }, err, deps), created: true };
  };

  let items: AsyncGenerator<JobItem>;
  let first: IteratorResult<JobItem>;
  try {
    const object = await deps.manifests.open(bucket, key, deps.signal);
    items = parseManifest(object.body, { name: key });
  } catch (err) {
    if (isUnusable(err)) return unusable(err);
    throw err;
  }
  try {
    // The first item shows whether the manifest is usable at all (header, array start) before a job exists.
    first = await items.next();
  } catch (err) {
    await items.return(undefined).catch(() => undefined);
    if (isUnusable(err)) return unusable(err);
    throw err;
  }
  const all = async function* (): AsyncGenerator<JobItem> {
    if (first.done) return;
    yield first.value;
    yield* items;
  };
  const onConflict = input.onConflict === 'overwrite' ? { onConflict: input.onConflict } : {};
  return createJobOnce({ jobId, source, items: all(), keyTemplate, ...onConflict }, deps);
}
