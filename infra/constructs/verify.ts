import type { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VERIFY_PREFIX } from '../../functions/core/verify/verify-run.js';
import { functionEnvironment } from '../env-keys.js';
import { ArchiveFunction } from './archive-function.js';
import { queueWithDeadLetter } from './copy-queue.js';
import { acknowledgeGrantWildcards, acknowledgeWildcards } from './nag.js';
import { JOBS_PREFIX } from './storage.js';

/** A verify part is retried this often before its message goes to the DLQ (parts are idempotent). */
export const VERIFY_MAX_RECEIVE_COUNT = 3;

export interface ArchiveVerifyProps {
  bucket: IBucket;
  ekbBaseUrl: string;
  /** Extra archive lanes (the same list every function is told: a verify of a prefix is held to the lanes). */
  archivePrefixes: readonly string[];
  /** The jobs API: POST /verify-jobs records runs under verify/ and queues their first part. */
  jobsApi: ArchiveFunction;
  timeout: Duration;
  deadlineMarginMs: number;
  logLevel: string;
  logRetention: RetentionDays;
  tracing: boolean;
}

/**
 * The verify path in AWS: a queue of run parts (+ DLQ) driving the verify function, which reads the archive (HEAD
 * with checksum mode, GetObjectAttributes, GetObject for hashing, the SHA-256 tag, listings), reads the job reports
 * and indexes, and writes only under verify/. Why a queue and not a schedule: a run is asked for (by job, prefix
 * or keys) and may need many invocations; the queue carries its parts, retries one that failed, and keeps one that
 * keeps failing in the DLQ. A schedule can still start runs through the API.
 */
export class ArchiveVerify extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly fn: ArchiveFunction;

  constructor(scope: Construct, id: string, props: ArchiveVerifyProps) {
    super(scope, id);
    const { bucket } = props;
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = queueWithDeadLetter(this, {
      consumerTimeout: props.timeout,
      maxReceiveCount: VERIFY_MAX_RECEIVE_COUNT,
    }));

    this.fn = new ArchiveFunction(this, 'Verify', {
      name: 'verify',
      description: 'SQS verify parts: re-check archived objects against their records (checksums, SHA-256)',
      memorySize: 1024,
      timeout: props.timeout,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: functionEnvironment({
        // Not used by verify; every function carries the tenant it belongs to.
        EKB_BASE_URL: props.ekbBaseUrl,
        EKB_BUCKET: bucket.bucketName,
        EKB_ARCHIVE_PREFIXES: props.archivePrefixes.join(','),
        EKB_VERIFY_QUEUE_URL: this.queue.queueUrl,
        EKB_REPORT_PREFIX: JOBS_PREFIX,
        EKB_DEADLINE_MARGIN_MS: props.deadlineMarginMs,
        LOG_LEVEL: props.logLevel,
      }),
    });
    this.fn.fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }),
    );
    this.queue.grantSendMessages(this.fn.role);

    const role = this.fn.role;
    const why =
      'verify reads every archived object (any prefix the key templates chose) and the jobs/ reports, and writes only under verify/.';
    acknowledgeGrantWildcards(role, bucket.grantRead(role), why);
    acknowledgeGrantWildcards(role, bucket.grantPut(role, `${VERIFY_PREFIX}*`), why);
    // Named even though grantRead's s3:GetObject* covers them: the checksums verify compares come from these.
    const attributes = new PolicyStatement({
      actions: ['s3:GetObjectAttributes', 's3:GetObjectVersionAttributes', 's3:GetObjectTagging'],
      resources: [bucket.arnForObjects('*')],
    });
    role.addToPrincipalPolicy(attributes);
    acknowledgeWildcards(role, [attributes], why);

    // The jobs API starts runs: it records them under verify/, reads their parts, and queues part 1.
    const api = props.jobsApi;
    for (const [key, value] of Object.entries(
      functionEnvironment({ EKB_VERIFY_QUEUE_URL: this.queue.queueUrl }),
    )) {
      if (key !== 'NODE_OPTIONS') api.fn.addEnvironment(key, value);
    }
    this.queue.grantSendMessages(api.role);
    const apiWhy = "The jobs API reads and writes only verify run records under this bucket's verify/.";
    acknowledgeGrantWildcards(api.role, bucket.grantRead(api.role, `${VERIFY_PREFIX}*`), apiWhy);
    acknowledgeGrantWildcards(api.role, bucket.grantPut(api.role, `${VERIFY_PREFIX}*`), apiWhy);
  }
}
