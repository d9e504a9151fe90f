/**
 * The one stack of ekb-archive, composed from one construct per concern. Its settings come from CDK context
 * (cdk.json holds the documented defaults; `cdk deploy -c key=value` overrides), parsed by `settingsFromContext`.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, Node } from 'constructs';
import { ArchiveApi } from './constructs/archive-api.js';
import { type AppSettings, ArchiveFunctions } from './constructs/archive-functions.js';
import { CopyQueue, MAX_RECEIVE_COUNT } from './constructs/copy-queue.js';
import { EkbCredentials } from './constructs/credentials.js';
import { Observability } from './constructs/observability.js';
import { ArchiveStorage } from './constructs/storage.js';
import { Triggers } from './constructs/triggers.js';

/** Every context key the app reads, with its default (cdk.json repeats these; a test keeps them in step). */
export const CONTEXT_DEFAULTS = {
  /** CloudFormation stack name. */
  stackName: 'EkbArchive',
  /** Archive bucket name; "" lets CloudFormation name a new bucket. */
  bucketName: '',
  /** true: use the existing bucket `bucketName` (its settings are left alone) instead of creating one. */
  importExistingBucket: false,
  /** Secrets Manager secret holding {"appKey","appSecurity"}. */
  credentialsSecretName: 'ekb-archive/credentials',
  /** true: use an existing secret of that name instead of creating one with a placeholder. */
  importExistingSecret: false,
  /** EventBridge expression for the scheduled sync, e.g. "rate(1 hour)" or "cron(0 2 * * ? *)"; "off" for none. */
  scheduleExpression: 'off',
  /** 合思 tenant base URL (https). */
  ekbBaseUrl: 'https://app.ekuaibao.com',
  /** Files one copy invocation streams at once (EKB_COPY_CONCURRENCY, 1-64). */
  copyConcurrency: 8,
  /** downloadurls calls one function has in flight (EKB_RESOLVE_CONCURRENCY, 1-32). */
  resolveConcurrency: 4,
  /** Most copy invocations the queue drives at once (SQS event source maximum concurrency, 2-1000). */
  copyMaxConcurrency: 10,
  /** Object key template for API and manifest jobs: {fileId} {fileName} {jobId} {flowCode} {flowId} {formType}. */
  objectKeyTemplate: 'attachments/{fileId}/{fileName}',
  /** Object key template for the scheduled sync. */
  syncObjectKeyTemplate: 'forms/{formType}/{flowCode}/{fileId}-{fileName}',
  /** Hosts a download URL may point at, comma-separated; "*." matches subdomains. */
  allowedDownloadHosts: '*.aliyuncs.com,*.ekuaibao.com,*.hosecloud.com,*.dingtalk.com,*.trans.dingtalk.com',
  /** Form types the scheduled sync walks, comma-separated. */
  syncFormTypes: 'expense,loan,payment,requisition,custom,receipt,permit',
  /** Minutes each sync window overlaps the previous one (late-indexed forms). */
  syncOverlapMinutes: 10,
  /** Backfill start for the first sync (YYYY-MM-DD); "" lets the function decide. */
  syncStartDate: '',
  /** Milliseconds before the Lambda deadline at which copy/fan-out stop and hand back unfinished work. */
  deadlineMarginMs: 30_000,
  /** Function log level: debug, info, warn or error. */
  logLevel: 'info',
  /** Retention of every function and access log group, in days (a CloudWatch Logs retention value). */
  logRetentionDays: 90,
  /** Copy function memory (MB); 1769 MB is one full vCPU, which streaming and TLS use. */
  copyMemoryMb: 1769,
  /** Copy and fan-out timeout in seconds (≤ 900); the queue's visibility timeout is 6× this. */
  copyTimeoutSeconds: 900,
  /** API stage throttling: steady requests per second and burst. */
  apiThrottleRateLimit: 10,
  apiThrottleBurstLimit: 20,
  /** E-mail subscribed to the alarm topic; "" for none. */
  alarmEmail: '',
  /** X-Ray active tracing for every function. */
  tracing: false,
} as const;

export type ContextKey = keyof typeof CONTEXT_DEFAULTS;

/** The context as checked: the functions' settings (AppSettings) plus the stack's own. */
export interface EkbArchiveSettings extends AppSettings {
  stackName: string;
  bucketName: string;
  importExistingBucket: boolean;
  credentialsSecretName: string;
  importExistingSecret: boolean;
  /** undefined = no scheduled sync. */
  scheduleExpression: string | undefined;
  copyMaxConcurrency: number;
  logRetention: RetentionDays;
  copyMemoryMb: number;
  copyTimeoutSeconds: number;
  apiThrottleRateLimit: number;
  apiThrottleBurstLimit: number;
  alarmEmail: string | undefined;
  tracing: boolean;
}

/** Reads and checks every context key at once; throws one error listing every bad value. */
export function settingsFromContext(node: Node): EkbArchiveSettings {
  const problems: string[] = [];
  const raw = (key: ContextKey): unknown => {
    const v: unknown = node.tryGetContext(key);
    return v === undefined || v === null ? CONTEXT_DEFAULTS[key] : v;
  };
  const str = (key: ContextKey): string => String(raw(key)).trim();
  const int = (key: ContextKey, min: number, max: number): number => {
    const v = raw(key);
    const n = typeof v === 'number' ? v : Number(String(v).trim());
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return CONTEXT_DEFAULTS[key] as number;
    }
    return n;
  };
  const bool = (key: ContextKey): boolean => {
    const v = raw(key);
    if (typeof v === 'boolean') return v;
    if (/^(true|1|yes)$/i.test(String(v).trim())) return true;
    if (/^(false|0|no|)$/i.test(String(v).trim())) return false;
    problems.push(`${key} must be true or false (got ${JSON.stringify(v)})`);
    return CONTEXT_DEFAULTS[key] as boolean;
  };
  const list = (key: ContextKey): string[] =>
    str(key)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const bucketName = str('bucketName');
  const importExistingBucket = bool('importExistingBucket');
  if (importExistingBucket && !bucketName) problems.push('importExistingBucket=true needs a bucketName');
  if (bucketName && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketName)) {
    problems.push(`bucketName must be a valid S3 bucket name (got "${bucketName}")`);
  }

  const credentialsSecretName = str('credentialsSecretName');
  if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(credentialsSecretName)) {
    problems.push(`credentialsSecretName must be a Secrets Manager name (got "${credentialsSecretName}")`);
  }

  const schedule = str('scheduleExpression');
  let scheduleExpression: string | undefined;
  if (schedule === '' || /^off$/i.test(schedule)) scheduleExpression = undefined;
  else if (/^(rate|cron)\(.+\)$/.test(schedule)) scheduleExpression = schedule;
  else problems.push(`scheduleExpression must be rate(...), cron(...) or "off" (got "${schedule}")`);

  const ekbBaseUrl = str('ekbBaseUrl').replace(/\/+$/, '');
  try {
    if (new URL(ekbBaseUrl).protocol !== 'https:') throw new Error('not https');
  } catch {
    problems.push(`ekbBaseUrl must be an https URL (got "${ekbBaseUrl}")`);
  }

  const logLevel = str('logLevel').toLowerCase();
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push(`logLevel must be debug, info, warn or error (got "${logLevel}")`);
  }

  const retentionDays = int('logRetentionDays', 1, 3653);
  const retentionValues = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!retentionValues.includes(retentionDays)) {
    problems.push(`logRetentionDays must be one of ${retentionValues.join(', ')} (got ${retentionDays})`);
  }

  const syncStartDate = str('syncStartDate');
  if (syncStartDate && Number.isNaN(Date.parse(syncStartDate))) {
    problems.push(`syncStartDate must be a date such as 2024-01-01 (got "${syncStartDate}")`);
  }

  const allowedDownloadHosts = list('allowedDownloadHosts');
  if (allowedDownloadHosts.length === 0) problems.push('allowedDownloadHosts must name at least one host');

  const alarmEmail = str('alarmEmail');
  if (alarmEmail && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
    problems.push(`alarmEmail must be an e-mail address (got "${alarmEmail}")`);
  }

  // Lambda's ceiling is 900 s; the queue's visibility timeout (6×) stays under SQS's 12 h.
  const copyTimeoutSeconds = int('copyTimeoutSeconds', 60, 900);
  const deadlineMarginMs = int('deadlineMarginMs', 1_000, 300_000);
  if (deadlineMarginMs * 2 > copyTimeoutSeconds * 1000) {
    problems.push('deadlineMarginMs must be at most half of copyTimeoutSeconds');
  }

  const apiThrottleRateLimit = int('apiThrottleRateLimit', 1, 10_000);
  const apiThrottleBurstLimit = int('apiThrottleBurstLimit', 1, 5_000);

  const settings: EkbArchiveSettings = {
    stackName: str('stackName'),
    bucketName,
    importExistingBucket,
    credentialsSecretName,
    importExistingSecret: bool('importExistingSecret'),
    scheduleExpression,
    ekbBaseUrl,
    copyConcurrency: int('copyConcurrency', 1, 64),
    resolveConcurrency: int('resolveConcurrency', 1, 32),
    copyMaxConcurrency: int('copyMaxConcurrency', 2, 1000),
    objectKeyTemplate: str('objectKeyTemplate'),
    syncObjectKeyTemplate: str('syncObjectKeyTemplate'),
    allowedDownloadHosts,
    syncFormTypes: list('syncFormTypes'),
    syncOverlapMinutes: int('syncOverlapMinutes', 0, 24 * 60),
    syncStartDate,
    deadlineMarginMs,
    logLevel,
    logRetention: retentionDays as RetentionDays,
    copyMemoryMb: int('copyMemoryMb', 512, 10_240),
    copyTimeoutSeconds,
    apiThrottleRateLimit,
    apiThrottleBurstLimit,
    alarmEmail: alarmEmail || undefined,
    tracing: bool('tracing'),
  };
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(settings.stackName)) {
    problems.push(`stackName must be a CloudFormation stack name (got "${settings.stackName}")`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid CDK context for ekb-archive:\n  - ${problems.join('\n  - ')}`);
  }
  return settings;
}

export interface EkbArchiveStackProps extends StackProps {
  settings: EkbArchiveSettings;
}

export class EkbArchiveStack extends Stack {
  readonly storage: ArchiveStorage;
  readonly credentials: EkbCredentials;
  readonly copyQueue: CopyQueue;
  readonly functions: ArchiveFunctions;
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
    });
    this.credentials = new EkbCredentials(this, 'Credentials', {
      secretName: s.credentialsSecretName,
      importExisting: s.importExistingSecret,
    });
    this.copyQueue = new CopyQueue(this, 'CopyQueue', { consumerTimeout: copyTimeout });

    this.functions = new ArchiveFunctions(this, 'Functions', {
      settings: {
        ekbBaseUrl: s.ekbBaseUrl,
        resolveConcurrency: s.resolveConcurrency,
        copyConcurrency: s.copyConcurrency,
        objectKeyTemplate: s.objectKeyTemplate,
        syncObjectKeyTemplate: s.syncObjectKeyTemplate,
        allowedDownloadHosts: s.allowedDownloadHosts,
        syncFormTypes: s.syncFormTypes,
        syncOverlapMinutes: s.syncOverlapMinutes,
        syncStartDate: s.syncStartDate,
        deadlineMarginMs: s.deadlineMarginMs,
        logLevel: s.logLevel,
      },
      bucket: this.storage.bucket,
      queue: this.copyQueue.queue,
      secret: this.credentials.secret,
      logRetention: s.logRetention,
      tracing: s.tracing,
      copyMemoryMb: s.copyMemoryMb,
      copyTimeout,
      fanOutTimeout: copyTimeout,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });

    this.api = new ArchiveApi(this, 'Api', {
      resolve: this.functions.resolve.fn,
      jobsApi: this.functions.jobsApi.fn,
      throttleRateLimit: s.apiThrottleRateLimit,
      throttleBurstLimit: s.apiThrottleBurstLimit,
      logRetention: s.logRetention,
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
    output('CredentialsSecretArn', this.credentials.secret.secretArn, 'Put {"appKey","appSecurity"} here');
    output('AlarmTopicArn', this.observability.alarmTopic.topicArn, 'Alarm notifications');
    output('DashboardName', this.observability.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
