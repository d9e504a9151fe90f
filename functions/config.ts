/**
 * The functions' settings: one table, the one place each default is written. `loadConfig` reads it from the
 * environment (the only reader of process.env); the CDK stack reads the same table from its context (the settings
 * that name a context key) and passes the values on as environment, so a deployed function, `npm start` and the CLI
 * share every default. Every bad key is reported at once. README.md ("Configuration") lists the same keys.
 */
import {
  boolSetting,
  choiceSetting,
  customSetting,
  fromEnv,
  intSetting,
  listSetting,
  readSettings,
  type SettingValues,
  stringSetting,
} from './config-schema.js';
import { buildLanes, type Lanes } from './core/attachments/lanes.js';
import { DEFAULT_OBJECT_KEY_TEMPLATE } from './core/attachments/object-key.js';
import { DEFAULT_COPY_CONCURRENCY } from './core/copy/copy-batch.js';
import { DEFAULT_PART_BYTES, DEFAULT_PART_CONCURRENCY } from './core/copy/part-size.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESOLVE_CONCURRENCY,
} from './core/ekuaibao/defaults.js';
import { ValidationError } from './core/errors.js';
import { DEFAULT_REPORT_PREFIX } from './core/jobs/keys.js';
import { FORM_TYPES } from './core/model/forms.js';
import { DEFAULT_PACKAGE_STATES } from './core/packages/states.js';
import {
  DEFAULT_OVERLAP_MINUTES,
  DEFAULT_SYNC_KEY_TEMPLATE,
  DEFAULT_SYNC_MODE,
  SYNC_MODES,
} from './core/sync/sync-options.js';

export const DEFAULT_ALLOWED_DOWNLOAD_HOSTS = [
  '*.aliyuncs.com',
  '*.ekuaibao.com',
  '*.hosecloud.com',
  '*.dingtalk.com',
  '*.trans.dingtalk.com',
];
const DEFAULT_EKB_BASE_URL = 'https://app.ekuaibao.com';
const MIB = 1024 * 1024;

function httpUrl(value: string): { value: string } | { problem: string } {
  const url = value.replace(/\/+$/, '');
  try {
    const u = new URL(url);
    if (u.protocol === 'https:' || u.protocol === 'http:') return { value: url };
  } catch {
    // reported below
  }
  return { problem: `must be an http(s) URL (got "${value}")` };
}

function date(value: string): { value: string } | { problem: string } {
  return Number.isNaN(Date.parse(value))
    ? { problem: `must be a date such as 2024-01-01 (got "${value}")` }
    : { value };
}

export const FUNCTION_SETTINGS = {
  /** 合思 tenant base URL, e.g. https://app.ekuaibao.com (no trailing slash). */
  ekbBaseUrl: customSetting('EKB_BASE_URL', DEFAULT_EKB_BASE_URL, httpUrl, 'ekbBaseUrl'),
  /** Local credentials (CLI, local stack). In AWS the secret named by ekbCredentialsSecret is used instead. */
  ekbAppKey: stringSetting('EKB_APP_KEY', undefined),
  ekbAppSecurity: stringSetting('EKB_APP_SECURITY', undefined),
  /** Secrets Manager secret name/ARN holding {"appKey","appSecurity"}. */
  ekbCredentialsSecret: stringSetting('EKB_CREDENTIALS_SECRET', undefined),
  /** Concurrent downloadurls calls in flight (each ≤100 refs). */
  resolveConcurrency: intSetting(
    'EKB_RESOLVE_CONCURRENCY',
    DEFAULT_RESOLVE_CONCURRENCY,
    1,
    32,
    'resolveConcurrency',
  ),
  /** Tries per 合思 call, including the first. */
  ekbMaxAttempts: intSetting('EKB_MAX_ATTEMPTS', DEFAULT_MAX_ATTEMPTS, 1, 10),
  /** Timeouts for 合思 API calls, ms. */
  ekbConnectTimeoutMs: intSetting('EKB_CONNECT_TIMEOUT_MS', DEFAULT_CONNECT_TIMEOUT_MS, 100, 60_000),
  ekbRequestTimeoutMs: intSetting('EKB_REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, 100, 120_000),
  /** Most refs one POST /attachments/download-urls may carry (more → 413). */
  resolveMaxRefs: intSetting('EKB_RESOLVE_MAX_REFS', 5_000, 1, 100_000),
  /** Target bucket for archived files and job reports. */
  bucket: stringSetting('EKB_BUCKET', undefined),
  /** SQS queue that carries copy batches. */
  queueUrl: stringSetting('EKB_QUEUE_URL', undefined),
  /** SQS queue that carries the parts of verify runs (POST /verify-jobs). */
  verifyQueueUrl: stringSetting('EKB_VERIFY_QUEUE_URL', undefined),
  /** Files copied in parallel by one copy worker. */
  copyConcurrency: intSetting('EKB_COPY_CONCURRENCY', DEFAULT_COPY_CONCURRENCY, 1, 64, 'copyConcurrency'),
  /** Multipart part size floor in MiB (raised for very large files to stay under 10,000 parts). */
  partSizeMb: intSetting('EKB_PART_SIZE_MB', DEFAULT_PART_BYTES / MIB, 5, 512),
  /** Parts uploaded in parallel per file. */
  partConcurrency: intSetting('EKB_PART_CONCURRENCY', DEFAULT_PART_CONCURRENCY, 1, 16),
  /** Object key templates: placeholders {fileId} {fileName} {ext} {jobId} {flowCode} {flowId} {formType}. */
  objectKeyTemplate: stringSetting(
    'EKB_OBJECT_KEY_TEMPLATE',
    DEFAULT_OBJECT_KEY_TEMPLATE,
    'objectKeyTemplate',
  ),
  syncObjectKeyTemplate: stringSetting(
    'EKB_SYNC_OBJECT_KEY_TEMPLATE',
    DEFAULT_SYNC_KEY_TEMPLATE,
    'syncObjectKeyTemplate',
  ),
  /**
   * Archive lanes besides the templates' roots (e.g. `scans/` for a request keyTemplate `scans/{fileId}`): where
   * jobs may write files. None may overlap a system lane (jobs/, sync/, manifests/, hooks/, verify/).
   */
  archivePrefixes: listSetting('EKB_ARCHIVE_PREFIXES', [], 'archivePrefixes'),
  /** Prefix for jobs/<jobId>/… reports. */
  reportPrefix: stringSetting('EKB_REPORT_PREFIX', DEFAULT_REPORT_PREFIX),
  /** Hosts a download URL may point at; `*.` prefix matches subdomains. */
  allowedDownloadHosts: listSetting(
    'EKB_ALLOWED_DOWNLOAD_HOSTS',
    DEFAULT_ALLOWED_DOWNLOAD_HOSTS,
    'allowedDownloadHosts',
  ),
  /** Local stack / tests only: allow http:// and loopback/private download hosts. */
  allowInsecureDownloads: boolSetting('EKB_ALLOW_INSECURE_DOWNLOADS', false),
  /** Scheduled sync: form types (subset of FORM_TYPES), overlap minutes, backfill start date. */
  syncFormTypes: listSetting('EKB_SYNC_FORM_TYPES', FORM_TYPES, 'syncFormTypes', FORM_TYPES),
  syncOverlapMinutes: intSetting(
    'EKB_SYNC_OVERLAP_MINUTES',
    DEFAULT_OVERLAP_MINUTES,
    0,
    24 * 60,
    'syncOverlapMinutes',
  ),
  syncStartDate: customSetting<string | undefined, 'EKB_SYNC_START_DATE'>(
    'EKB_SYNC_START_DATE',
    undefined,
    date,
    'syncStartDate',
  ),
  /** What the scheduled sync archives: whole form packages (default), or only the files the form JSON names. */
  syncMode: choiceSetting('EKB_SYNC_MODE', SYNC_MODES, DEFAULT_SYNC_MODE, 'syncMode'),
  /** Form states whose forms are sealed into packages (others are recorded and left for a later run). */
  packageStates: listSetting('EKB_PACKAGE_STATES', DEFAULT_PACKAGE_STATES, 'packageStates'),
  /**
   * Milliseconds before the Lambda deadline at which copy and fan-out stop starting work and hand back the rest
   * (copy: abort uploads and still write the batch report; fan-out: stop between two queue calls).
   */
  deadlineMarginMs: intSetting('EKB_DEADLINE_MARGIN_MS', 30_000, 1_000, 300_000, 'deadlineMarginMs'),
  /** The copy queue's maxReceiveCount: the attempt that reaches it writes a final batch report (then the DLQ). */
  maxReceiveCount: intSetting('EKB_MAX_RECEIVE_COUNT', 5, 1, 1000),
  logLevel: choiceSetting('LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info', 'logLevel'),
  /**
   * S3 Object Lock retention on every archived file (never on reports or state): off, governance or compliance. The
   * bucket must have Object Lock enabled (the stack creates it so when this is on).
   */
  objectLockMode: choiceSetting(
    'EKB_OBJECT_LOCK_MODE',
    ['off', 'governance', 'compliance'],
    'off',
    'objectLockMode',
  ),
  /** How long an archived file stays locked, in years (会计档案: 10 or 30). */
  objectLockYears: intSetting('EKB_OBJECT_LOCK_YEARS', 10, 1, 100, 'objectLockRetentionYears'),
};

export type Config = SettingValues<typeof FUNCTION_SETTINGS> & {
  /** partSizeMb in bytes. */
  partSizeBytes: number;
};

/** The queue's receive limit, for the stack's redrive policy (the same number the copy function is told). */
export const MAX_RECEIVE_COUNT = FUNCTION_SETTINGS.maxReceiveCount.default;

type Env = Record<string, string | undefined>;

/** The settings that make the bucket's lanes (core/attachments/lanes.ts). */
export type LaneConfig = Pick<
  Config,
  'objectKeyTemplate' | 'syncObjectKeyTemplate' | 'archivePrefixes' | 'reportPrefix'
>;

/** The lanes the settings make, and every reason they cannot (templates or prefixes overlapping system lanes). */
export function lanesFromConfig(config: LaneConfig, extraTemplates: readonly string[] = []) {
  return buildLanes({
    templates: [config.objectKeyTemplate, config.syncObjectKeyTemplate, ...extraTemplates],
    extraArchive: config.archivePrefixes,
    reportPrefix: config.reportPrefix,
  });
}

/** The bucket's lanes; throws ValidationError when the settings cannot make sound ones (loadConfig checked). */
export function lanesOf(config: LaneConfig): Lanes {
  const { lanes, problems } = lanesFromConfig(config);
  if (problems.length > 0) throw new ValidationError(`Invalid lanes: ${problems.join('; ')}`);
  return lanes;
}

export function loadConfig(env: Env = process.env): Config {
  const { values, problems } = readSettings(FUNCTION_SETTINGS, fromEnv(env), (s) => s.env);
  if (values.packageStates.length === 0)
    problems.push('EKB_PACKAGE_STATES must name at least one form state');
  // Lanes come from several keys at once; their problems name the template or prefix at fault.
  problems.push(...lanesFromConfig(values).problems.map((p) => `lanes: ${p}`));
  if (problems.length > 0) {
    throw new ValidationError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return { ...values, partSizeBytes: values.partSizeMb * MIB };
}
