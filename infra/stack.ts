/**
 * The one stack of ekb-archive, composed from one construct per concern. Its settings come from CDK context
 * (`cdk deploy -c key=value`; defaults in STACK_SETTINGS and functions/config.ts), parsed by `settingsFromContext`.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, Node } from 'constructs';
import { FUNCTION_SETTINGS, lanesFromConfig, MAX_RECEIVE_COUNT } from '../functions/config.js';
import {
  boolSetting,
  customSetting,
  intSetting,
  readSettings,
  type Setting,
  type SettingValues,
} from '../functions/config-schema.js';
import { ArchiveApi } from './constructs/archive-api.js';
import { type AppSettings, ArchiveFunctions } from './constructs/archive-functions.js';
import { CopyQueue } from './constructs/copy-queue.js';
import { EkbCredentials } from './constructs/credentials.js';
import { Observability } from './constructs/observability.js';
import { ArchiveStorage } from './constructs/storage.js';
import { Triggers } from './constructs/triggers.js';
import { ArchiveVerify } from './constructs/verify.js';

/**
 * The stack's own context keys, with their one default each (cdk.json holds only the CDK app's own settings).
 * The functions' settings that the stack may set come from the same table as their environment
 * (FUNCTION_SETTINGS in functions/config.ts, those naming a context key), defaults included.
 */
export const STACK_SETTINGS = {
  /** CloudFormation stack name. */
  stackName: contextSetting('stackName', 'EkbArchive', stackName),
  /** Archive bucket name; "" lets CloudFormation name a new bucket. */
  bucketName: contextSetting('bucketName', '', bucketName),
  /** true: use the existing bucket `bucketName` (its settings are left alone) instead of creating one. */
  importExistingBucket: boolSetting('', false, 'importExistingBucket'),
  /** Secrets Manager secret holding {"appKey","appSecurity"}. */
  credentialsSecretName: contextSetting('credentialsSecretName', 'ekb-archive/credentials', secretName),
  /** true: use an existing secret of that name instead of creating one with a placeholder. */
  importExistingSecret: boolSetting('', false, 'importExistingSecret'),
  /** EventBridge expression for the scheduled sync, e.g. "rate(1 hour)" or "cron(0 2 * * ? *)"; "off" for none. */
  scheduleExpression: contextSetting<string | undefined>('scheduleExpression', undefined, schedule),
  /** Most copy invocations the queue drives at once (SQS event source maximum concurrency, 2-1000). */
  copyMaxConcurrency: intSetting('', 10, 2, 1000, 'copyMaxConcurrency'),
  /** Retention of every function and access log group, in days (a CloudWatch Logs retention value). */
  logRetentionDays: contextSetting('logRetentionDays', 90 as RetentionDays, retentionDays),
  /** Copy function memory (MB); 1769 MB is one full vCPU, which streaming and TLS use. */
  copyMemoryMb: intSetting('', 1769, 512, 10_240, 'copyMemoryMb'),
  /** Copy and fan-out timeout in seconds; Lambda's ceiling is 900 s, and the queue's visibility (6×) stays under 12 h. */
  copyTimeoutSeconds: intSetting('', 900, 60, 900, 'copyTimeoutSeconds'),
  /** API stage throttling: steady requests per second and burst. */
  apiThrottleRateLimit: intSetting('', 10, 1, 10_000, 'apiThrottleRateLimit'),
  apiThrottleBurstLimit: intSetting('', 20, 1, 5_000, 'apiThrottleBurstLimit'),
  /** E-mail subscribed to the alarm topic; "" for none. */
  alarmEmail: contextSetting<string | undefined>('alarmEmail', undefined, email),
  /** X-Ray active tracing for every function. */
  tracing: boolSetting('', false, 'tracing'),
};

/** The functions' settings the stack may set from context (the others keep the function's own default). */
const FUNCTION_CONTEXT_SETTINGS = {
  ekbBaseUrl: FUNCTION_SETTINGS.ekbBaseUrl,
  resolveConcurrency: FUNCTION_SETTINGS.resolveConcurrency,
  copyConcurrency: FUNCTION_SETTINGS.copyConcurrency,
  objectKeyTemplate: FUNCTION_SETTINGS.objectKeyTemplate,
  syncObjectKeyTemplate: FUNCTION_SETTINGS.syncObjectKeyTemplate,
  archivePrefixes: FUNCTION_SETTINGS.archivePrefixes,
  allowedDownloadHosts: FUNCTION_SETTINGS.allowedDownloadHosts,
  syncFormTypes: FUNCTION_SETTINGS.syncFormTypes,
  syncOverlapMinutes: FUNCTION_SETTINGS.syncOverlapMinutes,
  syncStartDate: FUNCTION_SETTINGS.syncStartDate,
  syncMode: FUNCTION_SETTINGS.syncMode,
  packageStates: FUNCTION_SETTINGS.packageStates,
  deadlineMarginMs: FUNCTION_SETTINGS.deadlineMarginMs,
  logLevel: FUNCTION_SETTINGS.logLevel,
  objectLockMode: FUNCTION_SETTINGS.objectLockMode,
  objectLockYears: FUNCTION_SETTINGS.objectLockYears,
};

const CONTEXT_SETTINGS = { ...FUNCTION_CONTEXT_SETTINGS, ...STACK_SETTINGS };

/** Every context key the app reads. */
export const CONTEXT_KEYS = Object.values(CONTEXT_SETTINGS).map((s) => s.context as string);

/** The context as checked: the functions' settings (AppSettings) plus the stack's own. */
export type EkbArchiveSettings = AppSettings & SettingValues<typeof STACK_SETTINGS>;

type Read<T> = { value: T } | { problem: string };

function contextSetting<T>(context: string, fallback: T, read: (value: string) => Read<T>): Setting<T> {
  return customSetting<T, ''>('', fallback, read, context);
}

function stackName(v: string): Read<string> {
  return /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(v)
    ? { value: v }
    : { problem: `must be a CloudFormation stack name (got "${v}")` };
}
function bucketName(v: string): Read<string> {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v)
    ? { value: v }
    : { problem: `must be a valid S3 bucket name (got "${v}")` };
}
function secretName(v: string): Read<string> {
  return /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(v)
    ? { value: v }
    : { problem: `must be a Secrets Manager name (got "${v}")` };
}
function schedule(v: string): Read<string | undefined> {
  if (/^off$/i.test(v)) return { value: undefined };
  if (/^(rate|cron)\(.+\)$/.test(v)) return { value: v };
  return { problem: `must be rate(...), cron(...) or "off" (got "${v}")` };
}
function retentionDays(v: string): Read<RetentionDays> {
  const allowed = Object.values(RetentionDays).filter((d): d is number => typeof d === 'number');
  const n = Number(v);
  return allowed.includes(n)
    ? { value: n as RetentionDays }
    : { problem: `must be one of ${allowed.join(', ')} (got ${v})` };
}
function email(v: string): Read<string> {
  return /^[^@\s]+@[^@\s]+$/.test(v) ? { value: v } : { problem: `must be an e-mail address (got "${v}")` };
}

/** Reads and checks every context key at once; throws one error listing every bad value. */
export function settingsFromContext(node: Node): EkbArchiveSettings {
  const { values, problems } = readSettings(
    CONTEXT_SETTINGS,
    (s) => node.tryGetContext(s.context as string),
    (s) => s.context as string,
  );
  if (values.importExistingBucket && !values.bucketName) {
    problems.push('importExistingBucket=true needs a bucketName');
  }
  // Deployed functions fetch from the tenant over the Internet: plain http is for the local stack only.
  if (!values.ekbBaseUrl.startsWith('https:')) {
    problems.push(`ekbBaseUrl must be an https URL (got "${values.ekbBaseUrl}")`);
  }
  // The templates' roots and archivePrefixes are the lanes IAM grants the copy function; none may touch jobs/ etc.
  const lanes = lanesFromConfig({ ...values, reportPrefix: FUNCTION_SETTINGS.reportPrefix.default });
  problems.push(...lanes.problems.map((p) => `lanes: ${p}`));
  if (values.allowedDownloadHosts.length === 0)
    problems.push('allowedDownloadHosts must name at least one host');
  if (values.packageStates.length === 0) problems.push('packageStates must name at least one form state');
  if (values.deadlineMarginMs * 2 > values.copyTimeoutSeconds * 1000) {
    problems.push('deadlineMarginMs must be at most half of copyTimeoutSeconds');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid CDK context for ekb-archive:\n  - ${problems.join('\n  - ')}`);
  }
  return values;
}

export interface EkbArchiveStackProps extends StackProps {
  settings: EkbArchiveSettings;
}

export class EkbArchiveStack extends Stack {
  readonly storage: ArchiveStorage;
  readonly credentials: EkbCredentials;
  readonly copyQueue: CopyQueue;
  readonly functions: ArchiveFunctions;
  readonly verify: ArchiveVerify;
  readonly api: ArchiveApi;
  readonly triggers: Triggers;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: EkbArchiveStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const copyTimeout = Duration.seconds(s.copyTimeoutSeconds);

    this.storage = new ArchiveStorage(this, 'Storage', {
      bucketName: s.bucketName,
      importExisting: s.importExistingBucket,
      objectLock: s.objectLockMode !== 'off',
    });
    this.credentials = new EkbCredentials(this, 'Credentials', {
      secretName: s.credentialsSecretName,
      importExisting: s.importExistingSecret,
    });
    this.copyQueue = new CopyQueue(this, 'CopyQueue', {
      consumerTimeout: copyTimeout,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });

    this.functions = new ArchiveFunctions(this, 'Functions', {
      settings: {
        ekbBaseUrl: s.ekbBaseUrl,
        resolveConcurrency: s.resolveConcurrency,
        copyConcurrency: s.copyConcurrency,
        objectKeyTemplate: s.objectKeyTemplate,
        syncObjectKeyTemplate: s.syncObjectKeyTemplate,
        archivePrefixes: s.archivePrefixes,
        allowedDownloadHosts: s.allowedDownloadHosts,
        syncFormTypes: s.syncFormTypes,
        syncOverlapMinutes: s.syncOverlapMinutes,
        syncStartDate: s.syncStartDate,
        syncMode: s.syncMode,
        packageStates: s.packageStates,
        deadlineMarginMs: s.deadlineMarginMs,
        logLevel: s.logLevel,
        objectLockMode: s.objectLockMode,
        objectLockYears: s.objectLockYears,
      },
      bucket: this.storage.bucket,
      queue: this.copyQueue.queue,
      secret: this.credentials.secret,
      logRetention: s.logRetentionDays,
      tracing: s.tracing,
      copyMemoryMb: s.copyMemoryMb,
      copyTimeout,
      fanOutTimeout: copyTimeout,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });

    this.verify = new ArchiveVerify(this, 'Verify', {
      bucket: this.storage.bucket,
      ekbBaseUrl: s.ekbBaseUrl,
      archivePrefixes: s.archivePrefixes,
      jobsApi: this.functions.jobsApi,
      timeout: copyTimeout,
      deadlineMarginMs: s.deadlineMarginMs,
      logLevel: s.logLevel,
      logRetention: s.logRetentionDays,
      tracing: s.tracing,
    });

    this.api = new ArchiveApi(this, 'Api', {
      resolve: this.functions.resolve.fn,
      jobsApi: this.functions.jobsApi.fn,
      throttleRateLimit: s.apiThrottleRateLimit,
      throttleBurstLimit: s.apiThrottleBurstLimit,
      logRetention: s.logRetentionDays,
    });

    this.triggers = new Triggers(this, 'Triggers', {
      bucket: this.storage.bucket,
      queue: this.copyQueue.queue,
      fanOut: this.functions.fanOut.fn,
      copy: this.functions.copy.fn,
      scheduleExpression: s.scheduleExpression,
      copyMaxConcurrency: s.copyMaxConcurrency,
    });

    this.observability = new Observability(this, 'Observability', {
      functions: {
        resolve: this.functions.resolve.fn,
        jobsApi: this.functions.jobsApi.fn,
        fanOut: this.functions.fanOut.fn,
        copy: this.functions.copy.fn,
      },
      queue: this.copyQueue.queue,
      deadLetterQueue: this.copyQueue.deadLetterQueue,
      fanOutFailures: this.triggers.fanOutFailures,
      api: this.api.api,
      alarmEmail: s.alarmEmail,
      verify: { fn: this.verify.fn.fn, deadLetterQueue: this.verify.deadLetterQueue },
    });

    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    output('ApiUrl', this.api.stage.url, 'HTTP API base URL (IAM/SigV4 auth, service execute-api)');
    output('ApiInvokePolicyArn', this.api.invokePolicy.managedPolicyArn, 'Attach to callers of the API');
    output(
      'BucketName',
      this.storage.bucket.bucketName,
      'Archive bucket (manifests/ starts jobs, jobs/ holds reports)',
    );
    output('QueueUrl', this.copyQueue.queue.queueUrl, 'Copy batch queue');
    output('DeadLetterQueueUrl', this.copyQueue.deadLetterQueue.queueUrl, 'Copy batches that failed 5 times');
    output('FanOutFailuresQueueUrl', this.triggers.fanOutFailures.queueUrl, 'Failed fan-out events');
    output('VerifyQueueUrl', this.verify.queue.queueUrl, 'Parts of verify runs (POST /verify-jobs)');
    output('CredentialsSecretArn', this.credentials.secret.secretArn, 'Put {"appKey","appSecurity"} here');
    output('AlarmTopicArn', this.observability.alarmTopic.topicArn, 'Alarm notifications');
    output('DashboardName', this.observability.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
