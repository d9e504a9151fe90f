/**
 * A form-archive request under manifests/form-archives/ (written by POST /form-archives, or dropped there by
 * hand) → a package job. The job id is the one the API answered with (stored in the request); a hand-written
 * request without one gets an id derived from the upload, like a manifest, so a redelivered event never queues
 * a job twice. An unusable request becomes a job record carrying the reason.
 */
import { AppError, ErrorCode } from '../core/errors.js';
import { recordFailedJob } from '../core/jobs/create-job.js';
import { isValidJobId, manifestJobId } from '../core/jobs/keys.js';
import type { JobSource } from '../core/model/job.js';
import { runFormArchiveJob } from '../core/packages/form-archive-job.js';
import { readStoredRequest } from '../core/packages/form-request.js';
import { PACKAGE_JOB_TEMPLATE } from '../core/packages/package-job.js';
import type { BatchQueue, FormPackageSource, FormsSource, Logger, ReportStore } from '../core/ports.js';

/** What fan-out needs to plan packages: the 合思 client and the states to seal. */
export interface FormArchiveFanOutDeps {
  source: FormPackageSource & FormsSource;
  states: readonly string[];
}

/** What a request needs of fan-out's deps (s3-event.ts's FanOutDeps has all of it). */
export interface FormArchiveRequestDeps {
  queue: BatchQueue;
  store: ReportStore;
  reportPrefix?: string;
  now?: () => Date;
  formArchives?: FormArchiveFanOutDeps;
}

/** The job a request became (as s3-event.ts reports every job of an event). */
export interface FormArchiveOutcome {
  jobId: string;
  bucket: string;
  key: string;
  created: boolean;
  refs: number;
  batches: number;
  badLines: number;
  error?: string;
}

export interface RequestUpload {
  bucket: string;
  key: string;
  eTag?: string;
  versionId?: string;
  sequencer?: string;
  eventTime: Date;
}

const unusable = (err: unknown): err is AppError =>
  err instanceof AppError &&
  !err.retryable &&
  (err.code === ErrorCode.InvalidInput || err.code === ErrorCode.ReportInvalid);

export async function runFormArchiveRequest(
  upload: RequestUpload,
  deps: FormArchiveRequestDeps,
  log: Logger,
  signal?: AbortSignal,
): Promise<FormArchiveOutcome> {
  const { bucket, key } = upload;
  const source: JobSource = { kind: 'form-archives', request: `s3://${bucket}/${key}` };
  const common = {
    store: deps.store,
    logger: log,
    ...(deps.reportPrefix === undefined ? {} : { reportPrefix: deps.reportPrefix }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  };
  let stored: ReturnType<typeof readStoredRequest> | undefined;
  let problem: AppError | undefined;
  try {
    stored = readStoredRequest(await deps.store.getJson(key));
  } catch (err) {
    if (!unusable(err)) throw err;
    problem = err;
  }
  const jobId = stored && isValidJobId(stored.jobId) ? stored.jobId : manifestJobId(upload);
  if (!deps.formArchives) {
    problem = new AppError(ErrorCode.Misconfigured, 'this fan-out is not wired for form packages');
  }
  if (problem || !stored || !deps.formArchives) {
    const record = await recordFailedJob(
      { jobId, source, keyTemplate: PACKAGE_JOB_TEMPLATE },
      problem,
      common,
    );
    return {
      jobId,
      bucket,
      key,
      created: true,
      refs: 0,
      batches: 0,
      badLines: 0,
      error: record.error?.message,
    };
  }
  const { record, created } = await runFormArchiveJob(
    { jobId, source, request: stored.request },
    {
      ...common,
      queue: deps.queue,
      source: deps.formArchives.source,
      states: deps.formArchives.states,
      ...(signal === undefined ? {} : { signal }),
    },
  );
  return {
    jobId,
    bucket,
    key,
    created,
    refs: record?.counts.refs ?? 0,
    batches: record?.counts.batches ?? 0,
    badLines: record?.counts.badLines ?? 0,
  };
}
