/** The fan-out function's collaborators, built once per process from the parsed Config. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { createS3Client } from '../aws/s3-client.js';
import { createS3ManifestSource } from '../aws/s3-manifest-source.js';
import { createS3ReportStore } from '../aws/s3-report-store.js';
import { createSqsBatchQueue } from '../aws/sqs-sender.js';
import type { Config } from '../config.js';
import { AppError } from '../core/errors.js';
import type { BatchQueue, ManifestSource, ReportStore } from '../core/jobs/types.js';
import type { Logger } from '../core/logger.js';
import { createLogger } from '../logger.js';

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
  /** Time kept back from the Lambda deadline: queuing stops and the event is retried (default 20 s). */
  deadlineMarginMs?: number;
  now?: () => Date;
}

export function depsFromConfig(config: Config, logger?: Logger): FanOutDeps {
  const log = logger ?? createLogger({ level: config.logLevel, service: 'fan-out' });
  const missing = [!config.bucket && 'EKB_BUCKET', !config.queueUrl && 'EKB_QUEUE_URL'].filter(Boolean);
  if (missing.length > 0) {
    throw new AppError('misconfigured', `${missing.join(' and ')} must be set for the fan-out function`);
  }
  const s3 = createS3Client();
  return {
    queue: createSqsBatchQueue(new SQSClient({}), config.queueUrl as string),
    store: createS3ReportStore({ client: s3, bucket: config.bucket as string }),
    manifests: createS3ManifestSource({ client: s3 }),
    logger: log,
    bucket: config.bucket as string,
    keyTemplate: config.objectKeyTemplate,
    reportPrefix: config.reportPrefix,
    deadlineMarginMs: config.deadlineMarginMs,
  };
}
