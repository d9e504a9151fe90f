/**
 * The one place that reads process.env. Every key is parsed here, and every bad key is reported at once.
 * The table in README.md ("Configuration") lists the same keys; keep them in step.
 */

import { ValidationError } from './core/errors.js';
import { FORM_TYPES } from './core/model/forms.js';
import { createEnvReader } from './env-reader.js';

export interface Config {
  /** 合思 tenant base URL, e.g. https://app.ekuaibao.com (no trailing slash). */
  ekbBaseUrl: string;
  /** Local credentials (CLI, local stack). In AWS the secret named by ekbCredentialsSecret is used instead. */
  ekbAppKey: string | undefined;
  ekbAppSecurity: string | undefined;
  /** Secrets Manager secret name/ARN holding {"appKey","appSecurity"}. */
  ekbCredentialsSecret: string | undefined;
  /** Concurrent downloadurls calls in flight (each ≤100 refs). */
  resolveConcurrency: number;
  /** Tries per 合思 call, including the first. */
  ekbMaxAttempts: number;
  /** Timeouts for 合思 API calls, ms. */
  ekbConnectTimeoutMs: number;
  ekbRequestTimeoutMs: number;
  /** Most refs one POST /attachments/download-urls may carry (more → 413). */
  resolveMaxRefs: number;
  /** Target bucket for archived files and job reports. */
  bucket: string | undefined;
  /** SQS queue that carries copy batches. */
  queueUrl: string | undefined;
  /** Files copied in parallel by one copy worker. */
  copyConcurrency: number;
  /** Multipart part size floor in bytes (raised for very large files to stay under 10,000 parts). */
  partSizeBytes: number;
  /** Parts uploaded in parallel per file. */
  partConcurrency: number;
  /** Object key templates: placeholders {fileId} {fileName} {jobId} {flowCode} {flowId} {formType}. */
  objectKeyTemplate: string;
  syncObjectKeyTemplate: string;
  /** Prefix for jobs/<jobId>/… reports and sync state. */
  reportPrefix: string;
  /** Hosts a download URL may point at; `*.` prefix matches subdomains. */
  allowedDownloadHosts: string[];
  /** Local stack / tests only: allow http:// and loopback/private download hosts. */
  allowInsecureDownloads: boolean;
  /** Scheduled sync: form types (subset of FORM_TYPES), overlap minutes, backfill start date. */
  syncFormTypes: string[];
  syncOverlapMinutes: number;
  syncStartDate: string | undefined;
  /** Milliseconds before the Lambda deadline at which work stops and unfinished refs are handed back. */
  deadlineMarginMs: number;
  /** The copy queue's maxReceiveCount: the attempt that reaches it writes a final batch report (then the DLQ). */
  maxReceiveCount: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export const DEFAULT_ALLOWED_DOWNLOAD_HOSTS = [
  '*.aliyuncs.com',
  '*.ekuaibao.com',
  '*.hosecloud.com',
  '*.dingtalk.com',
  '*.trans.dingtalk.com',
];

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const reader = createEnvReader(env);
  const { problems, int, bool, list } = reader;
  const str = (name: string, fallback?: string): string | undefined => reader.str(name) ?? fallback;

  const baseUrlRaw = str('EKB_BASE_URL', 'https://app.ekuaibao.com')!;
  let ekbBaseUrl = baseUrlRaw.replace(/\/+$/, '');
  try {
    const u = new URL(ekbBaseUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    problems.push(`EKB_BASE_URL must be an http(s) URL (got "${baseUrlRaw}")`);
    ekbBaseUrl = 'https://app.ekuaibao.com';
  }

  const logLevel = str('LOG_LEVEL', 'info')!.toLowerCase();
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be debug, info, warn or error (got "${logLevel}")`);
  }

  const syncStartDate = str('EKB_SYNC_START_DATE');
  if (syncStartDate !== undefined && Number.isNaN(Date.parse(syncStartDate))) {
    problems.push(`EKB_SYNC_START_DATE must be a date such as 2024-01-01 (got "${syncStartDate}")`);
  }

  const syncFormTypes = list('EKB_SYNC_FORM_TYPES', [...FORM_TYPES]);
  const unknownFormTypes = syncFormTypes.filter((t) => !(FORM_TYPES as readonly string[]).includes(t));
  if (unknownFormTypes.length > 0) {
    problems.push(
      `EKB_SYNC_FORM_TYPES may list only ${FORM_TYPES.join(', ')} (got "${unknownFormTypes.join(', ')}")`,
    );
  }

  const config: Config = {
    ekbBaseUrl,
    ekbAppKey: str('EKB_APP_KEY'),
    ekbAppSecurity: str('EKB_APP_SECURITY'),
    ekbCredentialsSecret: str('EKB_CREDENTIALS_SECRET'),
    resolveConcurrency: int('EKB_RESOLVE_CONCURRENCY', 4, 1, 32),
    ekbMaxAttempts: int('EKB_MAX_ATTEMPTS', 4, 1, 10),
    ekbConnectTimeoutMs: int('EKB_CONNECT_TIMEOUT_MS', 5_000, 100, 60_000),
    ekbRequestTimeoutMs: int('EKB_REQUEST_TIMEOUT_MS', 15_000, 100, 120_000),
    resolveMaxRefs: int('EKB_RESOLVE_MAX_REFS', 5_000, 1, 100_000),
    bucket: str('EKB_BUCKET'),
    queueUrl: str('EKB_QUEUE_URL'),
    copyConcurrency: int('EKB_COPY_CONCURRENCY', 8, 1, 64),
    partSizeBytes: int('EKB_PART_SIZE_MB', 8, 5, 512) * 1024 * 1024,
    partConcurrency: int('EKB_PART_CONCURRENCY', 4, 1, 16),
    objectKeyTemplate: str('EKB_OBJECT_KEY_TEMPLATE', 'attachments/{fileId}/{fileName}')!,
    syncObjectKeyTemplate: str(
      'EKB_SYNC_OBJECT_KEY_TEMPLATE',
      'forms/{formType}/{flowCode}/{fileId}-{fileName}',
    )!,
    reportPrefix: str('EKB_REPORT_PREFIX', 'jobs/')!,
    allowedDownloadHosts: list('EKB_ALLOWED_DOWNLOAD_HOSTS', DEFAULT_ALLOWED_DOWNLOAD_HOSTS),
    allowInsecureDownloads: bool('EKB_ALLOW_INSECURE_DOWNLOADS', false),
    syncFormTypes,
    syncOverlapMinutes: int('EKB_SYNC_OVERLAP_MINUTES', 10, 0, 24 * 60),
    syncStartDate,
    deadlineMarginMs: int('EKB_DEADLINE_MARGIN_MS', 20_000, 1_000, 300_000),
    maxReceiveCount: int('EKB_MAX_RECEIVE_COUNT', 5, 1, 1000),
    logLevel: logLevel as Config['logLevel'],
  };

  if (problems.length > 0) {
    throw new ValidationError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return config;
}
