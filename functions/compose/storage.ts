/** The bucket and the queue: S3 client, report store, manifest source, SQS queue; the jobs API and fan-out deps. */

import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../aws/s3-client.js';
import { createS3ManifestSource } from '../aws/s3-manifest-source.js';
import { createS3ReportStore, createS3TextStore } from '../aws/s3-report-store.js';
import { sqsBatchQueue } from '../aws/sqs-sender.js';
import { sqsWorkQueue } from '../aws/sqs-work-queue.js';
import { lanesOf } from '../config.js';
import type { VerifyMessage } from '../core/model/verify.js';
import type { BatchQueue, Logger, ManifestSource, ReportStore, TextStore, WorkQueue } from '../core/ports.js';
import { type Composition, requireKeys } from './composition.js';

export const s3Client = (c: Composition): S3Client =>
  c.overrides.s3 ??
  c.once(
    's3',
    () => createS3Client(c.overrides.env ? { env: c.overrides.env } : {}),
    (s3) => void s3.destroy(),
  );

export function reportStore(c: Composition, who: string): ReportStore {
  if (c.overrides.reports) return c.overrides.reports;
  requireKeys(c, ['EKB_BUCKET'], who);
  return reportStoreIn(c, c.config.bucket as string);
}

/** Job records and batch reports in `bucket` (the CLI's --bucket may name another than the config's). */
export const reportStoreIn = (c: Composition, bucket: string): ReportStore =>
  c.once(`reports:${bucket}`, () => createS3ReportStore({ client: s3Client(c), bucket }));

/** Per-batch file indexes and verify findings (JSON lines) in `bucket`. */
export const textStoreIn = (c: Composition, bucket: string): TextStore =>
  c.once(`texts:${bucket}`, () => createS3TextStore({ client: s3Client(c), bucket }));

export function textStore(c: Composition, who: string): TextStore {
  requireKeys(c, ['EKB_BUCKET'], who);
  return textStoreIn(c, c.config.bucket as string);
}

export function batchQueue(c: Composition, who: string): BatchQueue {
  if (c.overrides.queue) return c.overrides.queue;
  requireKeys(c, ['EKB_QUEUE_URL'], who);
  return c.once('queue', () => sqsBatchQueue(c.config.queueUrl as string));
}

export const manifestSource = (c: Composition): ManifestSource =>
  c.once('manifests', () => createS3ManifestSource({ client: s3Client(c) }));

export function jobsApiDeps(c: Composition, logger: Logger = c.logger) {
  requireKeys(c, ['EKB_BUCKET', 'EKB_QUEUE_URL'], 'the jobs API');
  return {
    queue: batchQueue(c, 'the jobs API'),
    store: reportStore(c, 'the jobs API'),
    index: textStore(c, 'the jobs API'),
    ...optionalVerifyQueue(c),
    manifests: manifestSource(c),
    bucket: c.config.bucket as string,
    logger,
    keyTemplate: c.config.objectKeyTemplate,
    reportPrefix: c.config.reportPrefix,
    lanes: lanesOf(c.config),
  };
}

/** The verify queue when this deployment has one (POST /verify-jobs answers misconfigured without). */
function optionalVerifyQueue(c: Composition): { verifyQueue?: WorkQueue<VerifyMessage> } {
  if (c.overrides.verifyQueue) return { verifyQueue: c.overrides.verifyQueue };
  const url = c.config.verifyQueueUrl;
  return url ? { verifyQueue: c.once('verify-queue', () => sqsWorkQueue<VerifyMessage>(url)) } : {};
}

export function fanOutDeps(c: Composition, logger: Logger = c.logger) {
  requireKeys(c, ['EKB_BUCKET', 'EKB_QUEUE_URL'], 'the fan-out function');
  return {
    queue: batchQueue(c, 'the fan-out function'),
    store: reportStore(c, 'the fan-out function'),
    manifests: manifestSource(c),
    bucket: c.config.bucket as string,
    logger,
    keyTemplate: c.config.objectKeyTemplate,
    reportPrefix: c.config.reportPrefix,
    lanes: lanesOf(c.config),
    deadlineMarginMs: c.config.deadlineMarginMs,
  };
}
