/**
 * The environment keys the functions read, taken from their settings table (functions/config.ts, the only reader
 * of process.env). The stack sets values only through `functionEnvironment`, which accepts only these keys.
 */
import { FUNCTION_SETTINGS } from '../functions/config.js';
import { NODE_OPTIONS } from './bundling.js';

export type ConfigEnvKey = (typeof FUNCTION_SETTINGS)[keyof typeof FUNCTION_SETTINGS]['env'];

export const CONFIG_ENV_KEYS: readonly ConfigEnvKey[] = Object.values(FUNCTION_SETTINGS).map((s) => s.env);

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
