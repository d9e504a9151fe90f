/**
 * The one list of environment keys the functions read (functions/config.ts is the only reader of process.env).
 * The stack sets values only through `functionEnvironment`, which accepts only these keys; test/infra checks that
 * this list and the keys config.ts reads are the same set.
 */
import { NODE_OPTIONS } from './bundling.js';

export const CONFIG_ENV_KEYS = [
  'EKB_BASE_URL',
  'EKB_APP_KEY',
  'EKB_APP_SECURITY',
  'EKB_CREDENTIALS_SECRET',
  'EKB_RESOLVE_CONCURRENCY',
  'EKB_MAX_ATTEMPTS',
  'EKB_CONNECT_TIMEOUT_MS',
  'EKB_REQUEST_TIMEOUT_MS',
  'EKB_RESOLVE_MAX_REFS',
  'EKB_BUCKET',
  'EKB_QUEUE_URL',
  'EKB_COPY_CONCURRENCY',
  'EKB_PART_SIZE_MB',
  'EKB_PART_CONCURRENCY',
  'EKB_OBJECT_KEY_TEMPLATE',
  'EKB_SYNC_OBJECT_KEY_TEMPLATE',
  'EKB_REPORT_PREFIX',
  'EKB_ALLOWED_DOWNLOAD_HOSTS',
  'EKB_ALLOW_INSECURE_DOWNLOADS',
  'EKB_SYNC_FORM_TYPES',
  'EKB_SYNC_OVERLAP_MINUTES',
  'EKB_SYNC_START_DATE',
  'EKB_DEADLINE_MARGIN_MS',
  'EKB_MAX_RECEIVE_COUNT',
  'LOG_LEVEL',
] as const;

export type ConfigEnvKey = (typeof CONFIG_ENV_KEYS)[number];

/**
 * Keys for the CLI and the local stack only. Deployed functions read credentials from Secrets Manager (a secret in
 * an environment variable shows in the console and in GetFunctionConfiguration) and never accept plain-http or
 * private download hosts.
 */
export const LOCAL_ONLY_ENV_KEYS = [
  'EKB_APP_KEY',
  'EKB_APP_SECURITY',
  'EKB_ALLOW_INSECURE_DOWNLOADS',
] as const;

export type DeployedEnvKey = Exclude<ConfigEnvKey, (typeof LOCAL_ONLY_ENV_KEYS)[number]>;

/** Keys read by the Node runtime itself rather than by config.ts. */
export const RUNTIME_ENV_KEYS = ['NODE_OPTIONS'] as const;

/**
 * A function's environment: the given config values (blank ones left out, so config.ts applies its default) plus
 * the runtime flags.
 */
export function functionEnvironment(
  values: Partial<Record<DeployedEnvKey, string | number>>,
): Record<string, string> {
  const env: Record<string, string> = { NODE_OPTIONS };
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || String(value).trim() === '') continue;
    if (!(CONFIG_ENV_KEYS as readonly string[]).includes(key)) {
      throw new Error(`${key} is not a key functions/config.ts reads`);
    }
    if ((LOCAL_ONLY_ENV_KEYS as readonly string[]).includes(key)) {
      throw new Error(`${key} is for local use only and is never set on a deployed function`);
    }
    env[key] = String(value);
  }
  return env;
}
