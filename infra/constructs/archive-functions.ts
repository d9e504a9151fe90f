import { Duration } from 'aws-cdk-lib';
import { type Grant, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type Config, lanesOf } from '../../functions/config.js';
import { FORM_ARCHIVES_PREFIX } from '../../functions/core/packages/form-request.js';
import { PACKAGES_PREFIX } from '../../functions/core/packages/layout.js';
import { type DeployedEnvKey, functionEnvironment } from '../env-keys.js';
import { ArchiveFunction } from './archive-function.js';
import { acknowledgeGrantWildcards, acknowledgeWildcards } from './nag.js';
import { JOBS_PREFIX, MANIFESTS_PREFIX, SYNC_PREFIX } from './storage.js';

/** Settings every function shares; the stack fills them from CDK context (the same table as their environment). */
export type AppSettings = Pick<
  Config,
  | 'ekbBaseUrl'
  | 'resolveConcurrency'
  | 'copyConcurrency'
  | 'objectKeyTemplate'
  | 'syncObjectKeyTemplate'
  | 'archivePrefixes'
  | 'allowedDownloadHosts'
  | 'syncFormTypes'
  | 'syncOverlapMinutes'
  | 'syncStartDate'
  | 'syncMode'
  | 'packageStates'
  | 'deadlineMarginMs'
  | 'logLevel'
  | 'objectLockMode'
  | 'objectLockYears'
>;

export interface ArchiveFunctionsProps {
  settings: AppSettings;
  bucket: IBucket;
  queue: IQueue;
  secret: ISecret;
  logRetention: RetentionDays;
  tracing: boolean;
  copyMemoryMb: number;
  copyTimeout: Duration;
  /** The copy queue's redrive limit, told to the copy function. */
  maxReceiveCount: number;
  /** Same timeout for fan-out: a large manifest or a long sync window gets the full Lambda limit. */
  fanOutTimeout: Duration;
}

/**
 * API Gateway HTTP APIs give up after 30 s, so the API functions stop just short of that; their work per call is
 * bounded (≤ EKB_RESOLVE_MAX_REFS refs, one job record).
 */
const API_TIMEOUT = Duration.seconds(29);

/**
 * The four functions, each with the environment and grants of its role and nothing more. Environment mirrors the
 * grants: a function that may not read the secret is not told its name.
 */
export class ArchiveFunctions extends Construct {
  readonly resolve: ArchiveFunction;
  readonly jobsApi: ArchiveFunction;
  readonly fanOut: ArchiveFunction;
  readonly copy: ArchiveFunction;

  constructor(scope: Construct, id: string, props: ArchiveFunctionsProps) {
    super(scope, id);
    const { settings: s, bucket, queue, secret } = props;
    const common = { logRetention: props.logRetention, tracing: props.tracing };
    const shared: Partial<Record<DeployedEnvKey, string | number>> = {
      EKB_BASE_URL: s.ekbBaseUrl,
      EKB_ALLOWED_DOWNLOAD_HOSTS: s.allowedDownloadHosts.join(','),
      EKB_RESOLVE_CONCURRENCY: s.resolveConcurrency,
      EKB_OBJECT_KEY_TEMPLATE: s.objectKeyTemplate,
      EKB_SYNC_OBJECT_KEY_TEMPLATE: s.syncObjectKeyTemplate,
      EKB_ARCHIVE_PREFIXES: s.archivePrefixes.join(','),
      EKB_REPORT_PREFIX: JOBS_PREFIX,
      LOG_LEVEL: s.logLevel,
    };

    this.resolve = new ArchiveFunction(this, 'Resolve', {
      ...common,
      name: 'resolve',
      description: 'POST /attachments/download-urls: 合思 attachment refs in, download URLs out',
      memorySize: 256,
      timeout: API_TIMEOUT,
      environment: functionEnvironment({ ...shared, EKB_CREDENTIALS_SECRET: secret.secretArn }),
    });
    secret.grantRead(this.resolve.role);

    this.jobsApi = new ArchiveFunction(this, 'JobsApi', {
      ...common,
      name: 'jobs-api',
      description:
        'POST /copy-jobs, GET /copy-jobs/{jobId}: start a copy job, read its report; POST /form-archives: hand a form-archive request to fan-out',
      memorySize: 512,
      timeout: API_TIMEOUT,
      environment: functionEnvironment({
        ...shared,
        EKB_BUCKET: bucket.bucketName,
        EKB_QUEUE_URL: queue.queueUrl,
      }),
    });
    const jobsApiS3 =
      "S3 access is limited to this bucket's manifests/ (read; form-archive requests written) and jobs/ (job records); object keys are known only at run time.";
    ack(this.jobsApi, bucket.grantRead(this.jobsApi.role, `${MANIFESTS_PREFIX}*`), jobsApiS3);
    ack(this.jobsApi, bucket.grantRead(this.jobsApi.role, `${JOBS_PREFIX}*`), jobsApiS3);
    ack(this.jobsApi, bucket.grantPut(this.jobsApi.role, `${JOBS_PREFIX}*`), jobsApiS3);
    // POST /form-archives stores its checked request where the bucket notification hands it to fan-out.
    ack(this.jobsApi, bucket.grantPut(this.jobsApi.role, `${FORM_ARCHIVES_PREFIX}*`), jobsApiS3);
    queue.grantSendMessages(this.jobsApi.role);

    this.fanOut = new ArchiveFunction(this, 'FanOut', {
      ...common,
      name: 'fan-out',
      description: 'manifests/ uploads and the sync schedule: split jobs into copy batches on the queue',
      memorySize: 1024,
      timeout: props.fanOutTimeout,
      environment: functionEnvironment({
        ...shared,
        EKB_CREDENTIALS_SECRET: secret.secretArn,
        EKB_BUCKET: bucket.bucketName,
        EKB_QUEUE_URL: queue.queueUrl,
        EKB_SYNC_FORM_TYPES: s.syncFormTypes.join(','),
        EKB_SYNC_OVERLAP_MINUTES: s.syncOverlapMinutes,
        EKB_SYNC_START_DATE: s.syncStartDate,
        EKB_SYNC_MODE: s.syncMode,
        EKB_PACKAGE_STATES: s.packageStates.join(','),
        EKB_DEADLINE_MARGIN_MS: s.deadlineMarginMs,
      }),
    });
    secret.grantRead(this.fanOut.role);
    const fanOutS3 =
      "S3 access is limited to this bucket's manifests/ (read), jobs/ (job records), sync/ (sync state) and the package indexes under forms/ (read); object keys are known only at run time.";
    ack(this.fanOut, bucket.grantRead(this.fanOut.role, `${MANIFESTS_PREFIX}*`), fanOutS3);
    for (const prefix of [JOBS_PREFIX, SYNC_PREFIX]) {
      ack(this.fanOut, bucket.grantRead(this.fanOut.role, `${prefix}*`), fanOutS3);
      ack(this.fanOut, bucket.grantPut(this.fanOut.role, `${prefix}*`), fanOutS3);
    }
    // Planning form packages reads each version's index (a complete one is not queued again), nothing else there.
    ack(this.fanOut, bucket.grantRead(this.fanOut.role, `${PACKAGES_PREFIX}*/package.json`), fanOutS3);
    queue.grantSendMessages(this.fanOut.role);

    this.copy = new ArchiveFunction(this, 'Copy', {
      ...common,
      name: 'copy',
      description: 'SQS copy batches: resolve just in time, stream each file from 合思 into the bucket',
      memorySize: props.copyMemoryMb,
      timeout: props.copyTimeout,
      environment: functionEnvironment({
        ...shared,
        EKB_CREDENTIALS_SECRET: secret.secretArn,
        EKB_BUCKET: bucket.bucketName,
        EKB_COPY_CONCURRENCY: s.copyConcurrency,
        // Stop this long before the Lambda deadline, hand unfinished refs back and still write the batch report.
        EKB_DEADLINE_MARGIN_MS: s.deadlineMarginMs,
        // The attempt that reaches the redrive limit writes the final batch report.
        EKB_MAX_RECEIVE_COUNT: props.maxReceiveCount,
        // Object Lock retention the copy function sets on each archived file (never on reports or state).
        EKB_OBJECT_LOCK_MODE: s.objectLockMode,
        EKB_OBJECT_LOCK_YEARS: s.objectLockYears,
      }),
    });
    secret.grantRead(this.copy.role);
    this.grantCopyLanes(bucket, s);
  }

  /**
   * The copy function writes archived files only in the archive lanes (the templates' roots and archivePrefixes)
   * and its own batch reports (jobs/<id>/batches/) and per-job file index (jobs/<id>/index/): never a job record
   * (jobs/<id>/job.json), the sync's state (sync/) or a manifest (manifests/, which would start a job), whatever a
   * ref or a template asks. The same lanes are checked in the code (core/attachments/lanes.ts); IAM holds them
   * even if that check were bypassed. Reads (what is already at a key) are the archive lanes; no deletes.
   */
  private grantCopyLanes(bucket: IBucket, s: AppSettings): void {
    const lanes = lanesOf({ ...s, reportPrefix: JOBS_PREFIX });
    const reason =
      "S3 access is limited to this bucket's archive lanes (the key templates' roots and archivePrefixes) and this function's own report keys under jobs/*/batches/ and jobs/*/index/, without delete; object keys are known only at run time.";
    for (const lane of lanes.archive) {
      ack(this.copy, bucket.grantRead(this.copy.role, `${lane}*`), reason);
      ack(this.copy, bucket.grantPut(this.copy.role, `${lane}*`), reason);
    }
    for (const own of [`${JOBS_PREFIX}*/batches/*`, `${JOBS_PREFIX}*/index/*`]) {
      ack(this.copy, bucket.grantPut(this.copy.role, own), reason);
    }
    grantIntegrity(this.copy, bucket, lanes.archive);
  }
}

/**
 * What the copy function's integrity work needs beyond reading and writing objects: tagging a multipart object's
 * version with its SHA-256 and reading it back (a re-run rebuilds the record), and GetObjectAttributes for S3's
 * checksum. Named, not left to grant wildcards. (Setting an archived file's Object Lock retention needs
 * s3:PutObjectRetention, which grantPut includes; the bucket policy keeps it off the system prefixes.)
 */
function grantIntegrity(fn: ArchiveFunction, bucket: IBucket, lanes: readonly string[]): void {
  const statement = new PolicyStatement({
    actions: [
      's3:PutObjectTagging',
      's3:PutObjectVersionTagging',
      's3:GetObjectTagging',
      's3:GetObjectVersionTagging',
      's3:GetObjectAttributes',
    ],
    // Only the archive lanes: the tags and attributes of system objects (jobs/, sync/, manifests/) are not its own.
    resources: lanes.map((lane) => bucket.arnForObjects(`${lane}*`)),
  });
  fn.role.addToPrincipalPolicy(statement);
  acknowledgeWildcards(
    fn.role,
    [statement],
    "Archived files land under the archive lanes wherever each job's key template puts them; object keys are known only at run time.",
  );
}

/** Acknowledges the wildcard findings of one grant on the function's role, where the grant is made. */
function ack(fn: ArchiveFunction, grant: Grant, reason: string): void {
  acknowledgeGrantWildcards(fn.role, grant, reason);
}
