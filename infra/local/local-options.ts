/**
 * Settings of the local stack itself (EKB_LOCAL_*), next to the functions' own keys (functions/config.ts). Every
 * bad key is reported at once, like the functions' config.
 */

import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../functions/core/errors.js';
import { createEnvReader } from '../../functions/env-reader.js';
import { parseRateExpression } from './scheduler.js';

export type Env = Record<string, string | undefined>;

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LocalOptions {
  host: string;
  apiPort: number;
  s3Port: number;
  /** 0: any free port (the sandbox's URLs are only ever used by the stack itself). */
  sandboxPort: number;
  /** Where the embedded S3 keeps its buckets. */
  dataDir: string;
  /** Bucket of the embedded S3 (a real bucket comes from EKB_BUCKET instead). */
  embeddedBucket: string;
  /** Interval of the scheduled sync, or undefined when off. */
  scheduleMs: number | undefined;
  scheduleExpression: string | undefined;
  /** Archive the demo files at start (default: on when the sandbox is the upstream). */
  demo: boolean | undefined;
  /** Exit after the demo job (tests, CI). */
  exitAfterDemo: boolean;
  copyTimeoutMs: number;
  fanOutTimeoutMs: number;
  visibilityTimeoutMs: number;
  copyWorkers: number;
  /** Longest sync window. AWS runs use the sync's default (1 day); the demo's months of empty days go faster. */
  syncWindowMs: number;
  /** With a real bucket, how often manifests/ is listed for new uploads (S3 cannot notify this machine). */
  manifestPollMs: number;
}

export const LOCAL_DEFAULTS = {
  host: '127.0.0.1',
  apiPort: 4580,
  s3Port: 4569,
  sandboxPort: 0,
  dataDir: '.local/s3',
  embeddedBucket: 'ekb-archive-local',
  copyTimeoutSeconds: 120,
  fanOutTimeoutSeconds: 300,
  copyWorkers: 2,
  syncWindowHours: 168,
  manifestPollSeconds: 10,
} as const;

export function loadLocalOptions(env: Env, argv: readonly string[] = []): LocalOptions {
  const { problems, str, int, bool } = createEnvReader(env);

  let scheduleMs: number | undefined;
  const scheduleExpression = str('EKB_LOCAL_SCHEDULE');
  try {
    scheduleMs = parseRateExpression(scheduleExpression);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const host = str('EKB_LOCAL_HOST') ?? LOCAL_DEFAULTS.host;
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(host)) {
    problems.push(
      `EKB_LOCAL_HOST must be a loopback address (got "${host}"): the local stack has no authentication`,
    );
  }
  const copyTimeoutSeconds = int('EKB_LOCAL_COPY_TIMEOUT_SECONDS', LOCAL_DEFAULTS.copyTimeoutSeconds, 5, 900);
  const unknownFlags = argv.filter((a) => !['--once', '--no-demo', '--demo'].includes(a));
  if (unknownFlags.length > 0)
    problems.push(`unknown argument(s): ${unknownFlags.join(' ')} (known: --once, --demo, --no-demo)`);

  const demoFlag = argv.includes('--no-demo') ? false : argv.includes('--demo') ? true : undefined;
  const options: LocalOptions = {
    host,
    apiPort: int('EKB_LOCAL_API_PORT', LOCAL_DEFAULTS.apiPort, 0, 65535),
    s3Port: int('EKB_LOCAL_S3_PORT', LOCAL_DEFAULTS.s3Port, 0, 65535),
    sandboxPort: int('EKB_LOCAL_SANDBOX_PORT', LOCAL_DEFAULTS.sandboxPort, 0, 65535),
    dataDir: str('EKB_LOCAL_DATA_DIR') ?? LOCAL_DEFAULTS.dataDir,
    embeddedBucket: str('EKB_LOCAL_BUCKET') ?? LOCAL_DEFAULTS.embeddedBucket,
    scheduleMs,
    scheduleExpression: scheduleMs === undefined ? undefined : scheduleExpression,
    demo: demoFlag ?? bool('EKB_LOCAL_DEMO', undefined),
    exitAfterDemo: argv.includes('--once') || bool('EKB_LOCAL_EXIT_AFTER_DEMO', false),
    copyTimeoutMs: copyTimeoutSeconds * 1000,
    fanOutTimeoutMs:
      int('EKB_LOCAL_FAN_OUT_TIMEOUT_SECONDS', LOCAL_DEFAULTS.fanOutTimeoutSeconds, 5, 900) * 1000,
    // The stack uses 6× the function timeout to absorb throttled retries; locally nothing throttles, and a
    // failed batch should come back within a minute or two, not after an hour.
    visibilityTimeoutMs: int('EKB_LOCAL_VISIBILITY_TIMEOUT_SECONDS', copyTimeoutSeconds, 1, 43_200) * 1000,
    copyWorkers: int('EKB_LOCAL_COPY_WORKERS', LOCAL_DEFAULTS.copyWorkers, 1, 64),
    syncWindowMs: int('EKB_LOCAL_SYNC_WINDOW_HOURS', LOCAL_DEFAULTS.syncWindowHours, 1, 24 * 366) * 3_600_000,
    manifestPollMs:
      int('EKB_LOCAL_MANIFEST_POLL_SECONDS', LOCAL_DEFAULTS.manifestPollSeconds, 1, 3600) * 1000,
  };
  if (problems.length > 0) throw new ValidationError(`Invalid local stack settings: ${problems.join('; ')}`);
  return options;
}
