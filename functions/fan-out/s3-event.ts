/**
 * S3 ObjectCreated notifications → manifest jobs. One job per uploaded manifest, its id derived from the upload
 * (bucket, key, version, ETag, sequencer), so a redelivered event finds job.json and queues nothing again.
 * Records that are not manifest uploads (other buckets, other prefixes, folder placeholders) are skipped and logged.
 */
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { fallbackLanes, type Lanes } from '../core/attachments/lanes.js';
import { AppError, ErrorCode } from '../core/errors.js';
import { manifestJobId } from '../core/jobs/keys.js';
import { runManifestJob } from '../core/jobs/manifest-job.js';
import { FORM_ARCHIVES_PREFIX } from '../core/packages/form-request.js';
import type { BatchQueue, Logger, ManifestSource, ReportStore } from '../core/ports.js';
import { type FormArchiveFanOutDeps, runFormArchiveRequest } from './form-archive-request.js';

export const DEFAULT_MANIFESTS_PREFIX = 'manifests/';

export interface FanOutDeps {
  queue: BatchQueue;
  store: ReportStore;
  manifests: ManifestSource;
  logger: Logger;
  /** The archive bucket: manifests elsewhere are not ours to read (the notification is scoped to it anyway). */
  bucket: string;
  /** Only keys under this prefix are manifests (default `manifests/`, as the S3 notification filter). */
  manifestsPrefix?: string;
  /** Object key template for manifest jobs (config.objectKeyTemplate). */
  keyTemplate: string;
  /** Where job records live (config.reportPrefix). */
  reportPrefix?: string;
  /** The bucket's lanes (config); default: the template's root plus attachments/ and forms/. */
  lanes?: Lanes;
  /** Time kept back from the Lambda deadline: queuing stops and the event is retried (config.deadlineMarginMs). */
  deadlineMarginMs?: number;
  now?: () => Date;
  /** Form packages for requests under manifests/form-archives/ (compose/sync.ts). */
  formArchives?: FormArchiveFanOutDeps;
}

export interface ManifestJobOutcome {
  jobId: string;
  bucket: string;
  key: string;
  /** false when the job already existed (redelivered event). */
  created: boolean;
  refs: number;
  batches: number;
  badLines: number;
  error?: string;
}

export interface S3FanOutResult {
  kind: 's3';
  jobs: ManifestJobOutcome[];
  skipped: number;
}

/** S3 event keys are URL-encoded form values: `+` is a space, `%E5%90%88` is 合. Undefined when malformed. */
export function decodeS3EventKey(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export function isS3Event(event: unknown): event is S3Event {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((r) => (r as { eventSource?: unknown } | null)?.eventSource === 'aws:s3')
  );
}

function skipReason(record: S3EventRecord, key: string | undefined, deps: FanOutDeps): string | undefined {
  const prefix = deps.manifestsPrefix ?? DEFAULT_MANIFESTS_PREFIX;
  if (!record.eventName?.startsWith('ObjectCreated:')) return `event ${record.eventName} is not an upload`;
  if (record.s3.bucket.name !== deps.bucket)
    return `bucket ${record.s3.bucket.name} is not the archive bucket`;
  if (key === undefined) return 'the event key is not valid URL encoding';
  if (!key.startsWith(prefix)) return `key is not under ${prefix}`;
  if (key.endsWith('/')) return 'key is a folder placeholder';
  return undefined;
}

export async function handleS3Event(
  event: S3Event,
  deps: FanOutDeps,
  log: Logger,
  signal?: AbortSignal,
): Promise<S3FanOutResult> {
  const result: S3FanOutResult = { kind: 's3', jobs: [], skipped: 0 };
  const failed: Array<{ key: string; error: unknown }> = [];
  for (const record of event.Records) {
    const key = decodeS3EventKey(record.s3.object.key);
    const reason = skipReason(record, key, deps);
    if (reason !== undefined || key === undefined) {
      result.skipped += 1;
      log.warn('event record skipped', { reason, bucket: record.s3.bucket.name, key: record.s3.object.key });
      continue;
    }
    const bucket = record.s3.bucket.name;
    const eventTime = new Date(record.eventTime);
    const upload = {
      bucket,
      key,
      ...(record.s3.object.eTag ? { eTag: record.s3.object.eTag } : {}),
      ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
      ...(record.s3.object.sequencer ? { sequencer: record.s3.object.sequencer } : {}),
      eventTime: Number.isNaN(eventTime.getTime()) ? (deps.now?.() ?? new Date()) : eventTime,
    };
    const jobId = manifestJobId(upload);
    try {
      if (key.startsWith(FORM_ARCHIVES_PREFIX)) {
        result.jobs.push(await runFormArchiveRequest(upload, deps, log, signal));
        continue;
      }
      const { record: job, created } = await runManifestJob(
        { jobId, bucket, key, keyTemplate: deps.keyTemplate },
        {
          queue: deps.queue,
          store: deps.store,
          manifests: deps.manifests,
          logger: log,
          lanes: deps.lanes ?? fallbackLanes(deps.keyTemplate, deps.reportPrefix),
          ...(deps.reportPrefix === undefined ? {} : { reportPrefix: deps.reportPrefix }),
          ...(deps.now === undefined ? {} : { now: deps.now }),
          ...(signal === undefined ? {} : { signal }),
        },
      );
      result.jobs.push({
        jobId,
        bucket,
        key,
        created,
        refs: job.counts.refs,
        batches: job.counts.batches,
        badLines: job.counts.badLines,
        ...(job.error ? { error: job.error.message } : {}),
      });
    } catch (error) {
      // Keep going: the other manifests in this event are independent, and done ones are skipped on the retry.
      failed.push({ key, error });
      log.error('manifest job failed; the event will be retried', { jobId, key, error });
    }
  }
  if (failed.length > 0) {
    throw new AppError(
      ErrorCode.FanOutFailed,
      `${failed.length} of ${event.Records.length} manifest(s) could not be queued (first: ${failed[0]?.key})`,
      { retryable: true, status: 503, cause: failed[0]?.error },
    );
  }
  return result;
}
