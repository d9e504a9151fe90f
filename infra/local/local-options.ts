/**
 * Settings of the local stack itself (EKB_LOCAL_*), next to the functions' own keys (functions/config.ts), read with
 * the same schema, so every bad key is reported at once and each default is written once (LOCAL_SETTINGS).
 */

import { fileURLToPath } from 'node:url';
import {
  boolSetting,
  customSetting,
  fromEnv,
  intSetting,
  readSettings,
  stringSetting,
} from '../../functions/config-schema.js';
import { ValidationError } from '../../functions/core/errors.js';
import { type PausePoints, pausePoints } from './pause-points.js';
import { parseRateExpression } from './scheduler.js';

export type Env = Record<string, string | undefined>;

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

function loopback(host: string): { value: string } | { problem: string } {
  return /^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(host)
    ? { value: host }
    : { problem: `must be a loopback address (got "${host}"): the local stack has no authentication` };
}

function rate(expression: string): { value: string | undefined } | { problem: string } {
  try {
    return { value: parseRateExpression(expression) === undefined ? undefined : expression };
  } catch (err) {
    // parseRateExpression's message already starts with the key's name.
    return { problem: (err as Error).message.replace(/^EKB_LOCAL_SCHEDULE:? /, '') };
  }
}

export const LOCAL_SETTINGS = {
  host: customSetting('EKB_LOCAL_HOST', '127.0.0.1', loopback),
  apiPort: intSetting('EKB_LOCAL_API_PORT', 4580, 0, 65535),
  s3Port: intSetting('EKB_LOCAL_S3_PORT', 4569, 0, 65535),
  /** 0: any free port (the sandbox's URLs are only ever used by the stack itself). */
  sandboxPort: intSetting('EKB_LOCAL_SANDBOX_PORT', 0, 0, 65535),
  /** Where the embedded S3 keeps its buckets. */
  dataDir: stringSetting('EKB_LOCAL_DATA_DIR', '.local/s3'),
  /** Bucket of the embedded S3 (a real bucket comes from EKB_BUCKET instead). */
  embeddedBucket: stringSetting('EKB_LOCAL_BUCKET', 'ekb-archive-local'),
  /** `rate(N unit)` for the scheduled sync, or off. */
  scheduleExpression: customSetting<string | undefined, 'EKB_LOCAL_SCHEDULE'>(
    'EKB_LOCAL_SCHEDULE',
    undefined,
    rate,
  ),
  /** Archive the demo files at start (default: on when the sandbox is the upstream). */
  demo: boolSetting('EKB_LOCAL_DEMO', undefined),
  /** Exit after the demo job (tests, CI). */
  exitAfterDemo: boolSetting('EKB_LOCAL_EXIT_AFTER_DEMO', false),
  copyTimeoutSeconds: intSetting('EKB_LOCAL_COPY_TIMEOUT_SECONDS', 120, 5, 900),
  fanOutTimeoutSeconds: intSetting('EKB_LOCAL_FAN_OUT_TIMEOUT_SECONDS', 300, 5, 900),
  /**
   * The stack uses 6× the function timeout to absorb throttled retries; locally nothing throttles, and a failed
   * batch should come back within a minute or two, not after an hour. Unset: the copy timeout.
   */
  visibilityTimeoutSeconds: intSetting('EKB_LOCAL_VISIBILITY_TIMEOUT_SECONDS', 0, 1, 43_200),
  /** Copy invocations at once (the event source's maximum concurrency). */
  copyWorkers: intSetting('EKB_LOCAL_COPY_WORKERS', 2, 1, 64),
  /** Longest sync window. AWS runs use the sync's default (1 day); the demo's months of empty days go faster. */
  syncWindowHours: intSetting('EKB_LOCAL_SYNC_WINDOW_HOURS', 168, 1, 24 * 366),
  /** With a real bucket, how often manifests/ is listed for new uploads (S3 cannot notify this machine). */
  manifestPollSeconds: intSetting('EKB_LOCAL_MANIFEST_POLL_SECONDS', 10, 1, 3600),
  /** Tests only (pause-points.ts): points where the stack stops and waits to be killed, and the file it tells. */
  testPauseAt: stringSetting('EKB_LOCAL_TEST_PAUSE_AT', ''),
  testPauseFile: stringSetting('EKB_LOCAL_TEST_PAUSE_FILE', ''),
};

export interface LocalOptions {
  host: string;
  apiPort: number;
  s3Port: number;
  sandboxPort: number;
  dataDir: string;
  embeddedBucket: string;
  /** Interval of the scheduled sync, or undefined when off. */
  scheduleMs: number | undefined;
  scheduleExpression: string | undefined;
  demo: boolean | undefined;
  exitAfterDemo: boolean;
  copyTimeoutMs: number;
  fanOutTimeoutMs: number;
  visibilityTimeoutMs: number;
  copyWorkers: number;
  syncWindowMs: number;
  manifestPollMs: number;
  /** Tests only: armed pause points (pause-points.ts). */
  testPausePoints: PausePoints;
}

const FLAGS = ['--once', '--no-demo', '--demo'];

export function loadLocalOptions(env: Env, argv: readonly string[] = []): LocalOptions {
  const { values: v, problems } = readSettings(LOCAL_SETTINGS, fromEnv(env), (s) => s.env);
  const unknownFlags = argv.filter((a) => !FLAGS.includes(a));
  if (unknownFlags.length > 0)
    problems.push(`unknown argument(s): ${unknownFlags.join(' ')} (known: ${FLAGS.join(', ')})`);
  if (problems.length > 0) throw new ValidationError(`Invalid local stack settings: ${problems.join('; ')}`);

  const demoFlag = argv.includes('--no-demo') ? false : argv.includes('--demo') ? true : undefined;
  return {
    host: v.host,
    apiPort: v.apiPort,
    s3Port: v.s3Port,
    sandboxPort: v.sandboxPort,
    dataDir: v.dataDir,
    embeddedBucket: v.embeddedBucket,
    scheduleMs: parseRateExpression(v.scheduleExpression),
    scheduleExpression: v.scheduleExpression,
    demo: demoFlag ?? v.demo,
    exitAfterDemo: argv.includes('--once') || v.exitAfterDemo,
    copyTimeoutMs: v.copyTimeoutSeconds * 1000,
    fanOutTimeoutMs: v.fanOutTimeoutSeconds * 1000,
    visibilityTimeoutMs: (v.visibilityTimeoutSeconds || v.copyTimeoutSeconds) * 1000,
    copyWorkers: v.copyWorkers,
    syncWindowMs: v.syncWindowHours * 3_600_000,
    manifestPollMs: v.manifestPollSeconds * 1000,
    testPausePoints: pausePoints(
      v.testPauseAt
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      v.testPauseFile || undefined,
    ),
  };
}
