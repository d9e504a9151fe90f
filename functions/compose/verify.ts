/** Verify's collaborators: the archive reader on the bucket, the job records and indexes, the verify queue. */
import { createS3ArchiveReader } from '../aws/s3-archive-reader.js';
import { sqsWorkQueue } from '../aws/sqs-work-queue.js';
import { AppError, ErrorCode } from '../core/errors.js';
import type { VerifyMessage } from '../core/model/verify.js';
import type { ArchiveReader, Logger, WorkQueue } from '../core/ports.js';
import { emitMetrics } from '../metrics.js';
import type { Composition, MetricsSink } from './composition.js';
import { reportStoreIn, s3Client, textStoreIn } from './storage.js';

export const archiveReaderIn = (c: Composition, bucket: string): ArchiveReader =>
  c.once(`archive-reader:${bucket}`, () =>
    createS3ArchiveReader({ client: s3Client(c), bucket, logger: c.logger }),
  );

/** The verify queue: the override (the local stack's), else SQS at EKB_VERIFY_QUEUE_URL. */
export function verifyQueue(c: Composition, who: string): WorkQueue<VerifyMessage> {
  if (c.overrides.verifyQueue) return c.overrides.verifyQueue;
  const url = c.config.verifyQueueUrl;
  if (!url) throw new AppError(ErrorCode.Misconfigured, `EKB_VERIFY_QUEUE_URL must be set for ${who}`);
  return c.once('verify-queue', () => sqsWorkQueue<VerifyMessage>(url));
}

/** The verify function's deps: one part of a run at a time, on the configured bucket. */
export function verifyHandlerDeps(c: Composition, logger: Logger = c.logger): ReturnType<typeof verifyDeps> {
  return verifyDeps(c, logger);
}

function verifyDeps(c: Composition, logger: Logger) {
  const metrics: MetricsSink =
    c.overrides.metrics ?? ((values) => emitMetrics(values, { dimensions: { Function: 'verify' } }));
  const bucket = c.config.bucket;
  if (!bucket) throw new AppError(ErrorCode.Misconfigured, 'EKB_BUCKET must be set for the verify function');
  return {
    reader: archiveReaderIn(c, bucket),
    reports: c.overrides.reports ?? reportStoreIn(c, bucket),
    texts: textStoreIn(c, bucket),
    queue: verifyQueue(c, 'the verify function'),
    reportPrefix: c.config.reportPrefix,
    logger,
    deadlineMarginMs: c.config.deadlineMarginMs,
    metrics,
  };
}
