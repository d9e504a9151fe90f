/**
 * What every function that starts jobs needs (fan-out and the jobs API): the copy queue, the report store and the
 * manifest reader, all on the configured bucket. Built once per process from the parsed Config.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.js';
import { AppError } from '../core/errors.js';
import type { BatchQueue, ManifestSource, ReportStore } from '../core/ports.js';
import { createS3Client } from './s3-client.js';
import { createS3ManifestSource } from './s3-manifest-source.js';
import { createS3ReportStore } from './s3-report-store.js';
import { createSqsBatchQueue } from './sqs-sender.js';

export interface JobInfrastructure {
  queue: BatchQueue;
  store: ReportStore;
  manifests: ManifestSource;
  bucket: string;
}

/** Throws a `misconfigured` AppError naming every missing key, for `who` (e.g. "the jobs API"). */
export function jobInfrastructureFromConfig(config: Config, who: string): JobInfrastructure {
  const missing = [!config.bucket && 'EKB_BUCKET', !config.queueUrl && 'EKB_QUEUE_URL'].filter(Boolean);
  if (missing.length > 0 || !config.bucket || !config.queueUrl) {
    throw new AppError('misconfigured', `${missing.join(' and ')} must be set for ${who}`);
  }
  const s3 = createS3Client();
  return {
    queue: createSqsBatchQueue(new SQSClient({}), config.queueUrl),
    store: createS3ReportStore({ client: s3, bucket: config.bucket }),
    manifests: createS3ManifestSource({ client: s3 }),
    bucket: config.bucket,
  };
}
