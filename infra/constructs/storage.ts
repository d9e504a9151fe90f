import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_SYNC_STATE_KEY } from '../../functions/core/sync/state.js';

export interface ArchiveStorageProps {
  /** Bucket name; blank lets CloudFormation pick one (only when creating). */
  bucketName?: string;
  /** Use an existing bucket (bucketName) instead of creating one. Its settings are left as they are. */
  importExisting: boolean;
  /**
   * Create the bucket with S3 Object Lock enabled (it needs versioning, which the bucket has). No default retention:
   * the copy function locks each archived file itself, so reports and state in the system prefixes stay writable.
   */
  objectLock?: boolean;
}

/** Prefixes the functions use; IAM grants and the manifest notification are scoped to them. */
export const MANIFESTS_PREFIX = 'manifests/';
export const JOBS_PREFIX = 'jobs/';
/** The scheduled sync's state (watermark) lives under this prefix; derived from the sync's own default key. */
export const SYNC_PREFIX = DEFAULT_SYNC_STATE_KEY.slice(0, DEFAULT_SYNC_STATE_KEY.lastIndexOf('/') + 1);

/** The archive bucket (archived files, manifests/, jobs/ reports) and, when created here, its access-log bucket. */
/** The system's own prefixes: job records and reports, sync state, manifests, verify runs. */
export const SYSTEM_PREFIXES = [JOBS_PREFIX, SYNC_PREFIX, MANIFESTS_PREFIX, 'verify/'] as const;

export class ArchiveStorage extends Construct {
  readonly bucket: IBucket;
  readonly accessLogsBucket: Bucket | undefined;
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: ArchiveStorageProps) {
    super(scope, id);
    const name = props.bucketName?.trim() || undefined;

    if (props.importExisting) {
      if (!name) throw new Error('bucketName is required when importExistingBucket is true');
      this.bucket = Bucket.fromBucketName(this, 'Bucket', name);
      this.accessLogsBucket = undefined;
      this.created = false;
      return;
    }

    const accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log target itself; logging it into itself would loop.',
    });

    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: name,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Versioning keeps what an overwrite or a delete replaced: this is an archive.
      versioned: true,
      // Enabled, without a default retention (see objectLock above); CloudFormation can set it only on creation here.
      ...(props.objectLock ? { objectLockEnabled: true } : {}),
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The archive outlives the stack: deleting the stack leaves the bucket and every file in it.
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        // A copy that dies mid-stream leaves parts behind; they are billed until aborted.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    if (props.objectLock) this.keepSystemPrefixesUnlocked(this.bucket as Bucket);
    this.accessLogsBucket = accessLogs;
    this.created = true;
  }

  /**
   * With Object Lock on, nobody — no function, no person — may set a retention or legal hold in a system prefix:
   * the state file, job records and reports are rewritten by design and must never be locked for years.
   */
  private keepSystemPrefixesUnlocked(bucket: Bucket): void {
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'SystemPrefixesStayUnlocked',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObjectRetention', 's3:PutObjectLegalHold'],
        resources: SYSTEM_PREFIXES.map((p) => bucket.arnForObjects(`${p}*`)),
      }),
    );
  }
}
