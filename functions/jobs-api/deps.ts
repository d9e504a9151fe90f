/** The jobs API's collaborators, built once per process from the parsed Config. */
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

export interface JobsApiDeps {
  queue: BatchQueue;
  store: ReportStore;
  manifests: ManifestSource;
  logger: Logger;
  /** The archive bucket: the only one POST {"manifest"} may name. */
  bucket: string;
  /** Default object key template (config.objectKeyTemplate); a request may send its own. */
  keyTemplate: string;
  reportPrefix?: string;
  /** Most refs one POST may carry (default 10,000); more → 413. */
  maxRefs?: number;
  /** Largest raw body (default 5 MiB: a synchronous Lambda invocation carries at most 6 MB). */
  maxBodyBytes?: number;
  /** Time kept back from the Lambda deadline to answer (default 1.5 s). */
  deadlineMarginMs?: number;
  now?: () => Date;
  newJobId?: (now: Date) => string;
}

export function depsFromConfig(config: Config, logger?: Logger): JobsApiDeps {
  const log = logger ?? createLogger({ level: config.logLevel, service: 'jobs-api' });
  const missing = [!config.bucket && 'EKB_BUCKET', !config.queueUrl && 'EKB_QUEUE_URL'].filter(Boolean);
  if (missing.length > 0) {
    throw new AppError('misconfigured', `${missing.join(' and ')} must be set for the jobs API`);
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
  };
}
