/**
 * The deployed system, on one machine: the same four handlers, fed by local stand-ins for what AWS wires
 * around them (infra/stack.ts):
 *
 *   HTTP API (http-api.ts) ─► resolve, jobs-api         S3 ObjectCreated manifests/ ─► manifests queue ─┐
 *   schedule (scheduler.ts) ─► schedule queue ────────────────────────────────────────────────────────┴─► fan-out
 *   fan-out ─► copy queue (local-queue.ts, visibility, retries, DLQ) ─► copy ─► bucket
 *
 * Every queue lives in one SQLite file in the data folder (queue-database.ts), so what was accepted survives
 * `kill -9`: events fan-out has not finished, batches not yet copied (fan-out-queues.ts, local-queue.ts).
 *
 * Upstream: the tenant's 合思 when EKB_APP_KEY / EKB_APP_SECURITY (or EKB_CREDENTIALS_SECRET) are set, else the
 * sandbox. Target: the embedded S3 (s3rver, data on disk) unless EKB_BUCKET names a real bucket, which the AWS SDK
 * then reaches with its standard settings (region, credential chain, AWS_ENDPOINT_URL_S3).
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { createS3Client } from '../../functions/aws/s3-client.js';
import { type Config, loadConfig } from '../../functions/config.js';
import { ErrorCode } from '../../functions/core/errors.js';
import type { Logger } from '../../functions/core/ports.js';
import { DEFAULT_SYNC_STATE_KEY, type SyncState } from '../../functions/core/sync/state.js';
import { decodeS3EventKey } from '../../functions/fan-out/s3-event.js';
import { type EmbeddedS3, S3RVER_CREDENTIALS, startEmbeddedS3 } from './embedded-s3.js';
import {
  type FanOutQueues,
  QUEUE_CLOSE_GRACE_MS,
  type SyncOutcome,
  startFanOutQueues,
} from './fan-out-queues.js';
import { HOOK_PATH, loadHookSecret } from './hook-secret.js';
import { type ApiHandler, type ApiRoute, startHttpApi } from './http-api.js';
import { LOCAL_REGION } from './lambda-context.js';
import { buildLocalFunctions, type LocalFunctions } from './local-functions.js';
import { type Env, type LocalOptions, PROJECT_ROOT } from './local-options.js';
import { LocalQueue, localQueueUrl, type QueueEvent } from './local-queue.js';
import { type ManifestPoller, startManifestPoller } from './manifest-poller.js';
import { startEkuaibaoSandbox } from './sandbox/server.js';
import type { EkuaibaoSandbox } from './sandbox/types.js';
import { type Schedule, startSchedule } from './scheduler.js';

export const MANIFESTS_PREFIX = 'manifests/';
/** Where a first sync against the sandbox starts: the day before its oldest demo form. */
export const DEMO_SYNC_START_DATE = '2026-02-26';
export const COPY_QUEUE_NAME = 'ekb-archive-copy';
export const VERIFY_QUEUE_NAME = 'ekb-archive-verify';
/** The durable local queue's SQLite file, in the data folder (queue-database.ts). */
export const QUEUE_DATABASE_FILE = '.ekb-queue.db';
const API_FUNCTION_TIMEOUT_MS = 29_000;
/** A sync run's lock outlives the longest run (the fan-out timeout) by this much, as 16 min outlives Lambda's 15. */
const SYNC_LOCK_SLACK_MS = 60_000;

export interface LocalStackInput {
  env: Env;
  options: LocalOptions;
  logger: Logger;
  /** Human progress lines (the console). */
  say?: (line: string) => void;
}

export interface LocalStack {
  readonly apiUrl: string;
  /** The URL to give 合思's outbound message (出站消息): it holds the route's secret, so show it only to its owner. */
  readonly hookUrl: string;
  readonly upstream: { kind: 'sandbox' | 'tenant'; baseUrl: string };
  readonly sandbox: EkuaibaoSandbox | undefined;
  readonly bucket: string;
  /** Set when the embedded S3 runs (else the bucket is a real one). */
  readonly embedded: EmbeddedS3 | undefined;
  readonly s3: S3Client;
  readonly queue: LocalQueue;
  /** The durable queues in front of fan-out (S3 manifest events, schedule ticks). */
  readonly fanOut: FanOutQueues;
  /** The SQLite file every queue lives in. */
  readonly queueDatabase: string;
  /** What the start found left by a previous run and took up again (all zero after a clean stop). */
  readonly recovery: StackRecovery;
  /** Every scheduled sync run's outcome so far, oldest first (the demo prints the last). */
  readonly syncOutcomes: readonly SyncOutcome[];
  readonly config: Config;
  readonly functions: LocalFunctions;
  readonly schedule: Schedule;
  /** Puts a manifest under manifests/ (the S3 notification then starts fan-out). */
  putManifest(name: string, body: string): Promise<string>;
  /** Resolves when fan-out and the queue have nothing left to do. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface StackRecovery {
  /** Copy batches found in the queue (of which interrupted: handed to a copy invocation when the process died). */
  batches: { messages: number; interrupted: number };
  manifestEvents: { messages: number; interrupted: number };
  scheduleEvents: { messages: number; interrupted: number };
  /** The embedded store's own recovery; undefined with a real bucket. */
  store: EmbeddedS3['recovery'] | undefined;
  /** A sync lock left by a run of a previous process, released at start (embedded store only). */
  staleSyncLock?: { runId: string; acquiredAt: string };
}

/** The environment the functions see: the user's, plus what the local stand-ins decide. */
export function functionEnv(
  env: Env,
  overrides: { bucket: string; queueUrl: string; sandbox?: EkuaibaoSandbox },
): Env {
  const out: Env = { ...env, EKB_BUCKET: overrides.bucket, EKB_QUEUE_URL: overrides.queueUrl };
  if (overrides.sandbox) {
    out.EKB_BASE_URL = overrides.sandbox.baseUrl;
    out.EKB_APP_KEY = overrides.sandbox.appKey;
    out.EKB_APP_SECURITY = overrides.sandbox.appSecurity;
    out.EKB_CREDENTIALS_SECRET = undefined;
    // The sandbox serves plain-http loopback download URLs; only the local stack with the sandbox allows them.
    out.EKB_ALLOW_INSECURE_DOWNLOADS = 'true';
    // The demo forms were updated in March 2026: a first sync starts there unless told otherwise.
    out.EKB_SYNC_START_DATE ??= DEMO_SYNC_START_DATE;
  }
  return out;
}

function hasTenantCredentials(env: Env): boolean {
  const set = (k: string) => (env[k]?.trim() ?? '') !== '';
  return (set('EKB_APP_KEY') && set('EKB_APP_SECURITY')) || set('EKB_CREDENTIALS_SECRET');
}

/** What the stack started, closed in reverse order. */
class Cleanups {
  readonly #steps: Array<() => Promise<unknown>> = [];
  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }
  readonly closeAll = async (): Promise<void> => {
    for (const step of this.#steps.splice(0).reverse()) await step().catch(() => undefined);
  };
}

export async function startLocalStack(input: LocalStackInput): Promise<LocalStack> {
  const { env, options, logger } = input;
  const say = input.say ?? (() => {});
  const cleanups = new Cleanups();
  try {
    // Upstream: the tenant when credentials are set, else the sandbox.
    const sandbox = hasTenantCredentials(env)
      ? undefined
      : await startEkuaibaoSandbox({ host: options.host, port: options.sandboxPort });
    if (sandbox) cleanups.add(() => sandbox.close());

    let onManifest: (event: S3Event) => void = () => {};
    const target = await startTarget(env, options, cleanups, (event) => onManifest(event));
    const config = loadConfig(
      functionEnv(env, {
        bucket: target.bucket,
        queueUrl: localQueueUrl(COPY_QUEUE_NAME),
        ...(sandbox ? { sandbox } : {}),
      }),
    );
    const database = join(dataDirectory(options), QUEUE_DATABASE_FILE);

    let functions: LocalFunctions | undefined;
    const fn = (): LocalFunctions => functions as LocalFunctions;
    // Closed after the queues (cleanups run in reverse): stopping invocations still write their reports.
    cleanups.add(async () => functions?.close());
    const queue = startCopyQueue(config, options, fn, say);
    const verifyQueue = startVerifyQueue(options, fn, say);
    const syncOutcomes: SyncOutcome[] = [];
    let fanOut: FanOutQueues;
    try {
      fanOut = startFanOutQueues({
        database,
        fanOut: (event, context) => fn().fanOut(event, context),
        timeoutMs: options.fanOutTimeoutMs,
        say,
        onSync: (outcome) => syncOutcomes.push(outcome),
      });
    } catch (err) {
      await Promise.all([queue.close(), verifyQueue.close()]);
      throw err;
    }
    // All at once: running invocations are told to stop, and what they leave unfinished is handed back.
    cleanups.add(() =>
      Promise.all([
        queue.close(QUEUE_CLOSE_GRACE_MS),
        verifyQueue.close(QUEUE_CLOSE_GRACE_MS),
        fanOut.close(),
      ]),
    );
    // The bucket notification's filter: ObjectCreated under manifests/. Set before anything awaits, so no upload
    // goes unseen while the functions are built (the queue holds the event until it starts), and queued before
    // s3rver answers the upload, so an upload that got its 200 has its event on disk.
    const queued = fanOut;
    onManifest = (event) => {
      const raw = event.Records[0]?.s3.object.key;
      const key = raw === undefined ? undefined : decodeS3EventKey(raw);
      if (key?.startsWith(MANIFESTS_PREFIX)) queued.sendS3Event(event);
    };
    const hookSecret = await loadHookSecret(dataDirectory(options));
    functions = await buildLocalFunctions({
      hookSecret,
      config,
      s3: target.s3,
      queue,
      verifyQueue,
      logger,
      syncOptions: {
        windowMs: options.syncWindowMs,
        lockTtlMs: options.fanOutTimeoutMs + SYNC_LOCK_SLACK_MS,
      },
      pausePoints: options.testPausePoints,
    });
    const staleSyncLock = target.embedded ? await releaseStaleSyncLock(fn().store, say) : undefined;
    // Work recovered from the queue file after a crash waits until the functions exist.
    queue.start();
    verifyQueue.start();
    fanOut.start();

    let poller: ManifestPoller | undefined;
    if (!target.embedded) {
      const started = startManifestPoller({
        s3: target.s3,
        bucket: target.bucket,
        prefix: MANIFESTS_PREFIX,
        intervalMs: options.manifestPollMs,
        database,
        deliver: (e) => fanOut.sendS3Event(e),
        say,
      });
      poller = started;
      // Before the queues close (cleanups run in reverse): the poller shares their database.
      cleanups.add(async () => started.stop());
      void started.poll();
    }

    const schedule = startSchedule(options.scheduleMs, async (event) => {
      fanOut.sendScheduledEvent(event);
    });
    cleanups.add(async () => schedule.stop());

    const api = await startHttpApi({
      host: options.host,
      port: options.apiPort,
      integrationTimeoutMs: API_FUNCTION_TIMEOUT_MS,
      routes: apiRoutes(fn, queue, fanOut),
    });
    cleanups.add(() => api.close());

    return {
      apiUrl: api.url,
      hookUrl: `${api.url}${HOOK_PATH}${hookSecret}`,
      upstream: sandbox
        ? { kind: 'sandbox', baseUrl: sandbox.baseUrl }
        : { kind: 'tenant', baseUrl: config.ekbBaseUrl },
      sandbox,
      bucket: target.bucket,
      embedded: target.embedded,
      s3: target.s3,
      queue,
      fanOut,
      queueDatabase: database,
      recovery: {
        batches: queue.recovered,
        manifestEvents: fanOut.manifests.recovered,
        scheduleEvents: fanOut.schedule.recovered,
        store: target.embedded?.recovery,
        ...(staleSyncLock ? { staleSyncLock } : {}),
      },
      syncOutcomes,
      config,
      functions,
      schedule,
      async putManifest(name, body) {
        const key = `${MANIFESTS_PREFIX}${name}`;
        await target.s3.send(
          new PutObjectCommand({
            Bucket: target.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/x-ndjson',
          }),
        );
        // A real bucket cannot notify this machine: hand fan-out the event S3 would have sent, at once.
        await poller?.deliverNow(key);
        return key;
      },
      async settled() {
        // Fan-out queues batches; copy never starts fan-out, but a manifest upload or a tick may come meanwhile.
        for (;;) {
          await fanOut.idle();
          await queue.idle();
          if (fanOut.pending === 0 && queue.stats.waiting === 0 && queue.stats.inFlight === 0) return;
        }
      },
      close: cleanups.closeAll,
    };
  } catch (err) {
    await cleanups.closeAll();
    throw err;
  }
}

interface Target {
  bucket: string;
  s3: S3Client;
  /** Set when the embedded S3 runs (else the bucket is a real one). */
  embedded: EmbeddedS3 | undefined;
}

/** The embedded S3 unless EKB_BUCKET names a real bucket; the S3 client the functions' adapters will use. */
async function startTarget(
  env: Env,
  options: LocalOptions,
  cleanups: Cleanups,
  onObjectCreated: (event: S3Event) => void,
): Promise<Target> {
  const realBucket = env.EKB_BUCKET?.trim() || undefined;
  let embedded: EmbeddedS3 | undefined;
  const directory = dataDirectory(options);
  await mkdir(directory, { recursive: true });
  if (!realBucket) {
    const started = await startEmbeddedS3({
      directory,
      bucket: options.embeddedBucket,
      host: options.host,
      port: options.s3Port,
      onObjectCreated,
    });
    embedded = started;
    cleanups.add(() => started.close());
    // The functions' adapters read the AWS SDK's standard environment, as they do in Lambda; this process is
    // the local stack's own, so the embedded S3's endpoint and key pair go there (createS3Client then also
    // turns the checksums down to WHEN_REQUIRED, which s3rver needs).
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: started.endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }
  // With a real bucket: the SDK's chain decides region, credentials and AWS_ENDPOINT_URL_S3.
  const s3 = createS3Client();
  cleanups.add(async () => s3.destroy());
  return { bucket: realBucket ?? options.embeddedBucket, s3, embedded };
}

/** The local data folder (embedded store and queue file), relative paths from the project root. */
function dataDirectory(options: LocalOptions): string {
  return isAbsolute(options.dataDir) ? options.dataDir : join(PROJECT_ROOT, options.dataDir);
}

/**
 * The copy queue feeding the copy function, as the stack's event source does. Durable: batches queued before a
 * crash are delivered again after the restart (queue-database.ts); it starts paused, until the copy function exists.
 */
function startCopyQueue(
  config: Config,
  options: LocalOptions,
  functions: () => LocalFunctions,
  say: (line: string) => void,
): LocalQueue {
  return new LocalQueue({
    name: COPY_QUEUE_NAME,
    database: join(dataDirectory(options), QUEUE_DATABASE_FILE),
    paused: true,
    visibilityTimeoutMs: options.visibilityTimeoutMs,
    // The same EKB_MAX_RECEIVE_COUNT the copy function reads: its last attempt writes the final report.
    maxReceiveCount: config.maxReceiveCount,
    // infra/constructs/triggers.ts COPY_BATCH_SIZE: one batch message (≤100 refs) per invocation.
    batchSize: 1,
    maxConcurrency: options.copyWorkers,
    consumer: {
      functionName: 'ekb-archive-copy',
      timeoutMs: options.copyTimeoutMs,
      handler: (event, context) => functions().copy(event, context),
    },
    onEvent: (e: QueueEvent) => {
      if (e.kind === 'dead_lettered') {
        say(`queue: batch message ${e.messageId} moved to the DLQ after ${e.receiveCount} receives`);
      } else if (e.kind === 'invocation_failed') {
        say(`queue: copy invocation failed (${e.reason}); its batch will be retried`);
      }
    },
  });
}

/**
 * The verify queue feeding the verify function (POST /verify-jobs queues a run's parts on it), in the same queue
 * file as the copy queue: a run's next part survives a crash; paused until the verify function exists.
 */
function startVerifyQueue(
  options: LocalOptions,
  functions: () => LocalFunctions,
  say: (line: string) => void,
): LocalQueue {
  return new LocalQueue({
    name: VERIFY_QUEUE_NAME,
    database: join(dataDirectory(options), QUEUE_DATABASE_FILE),
    paused: true,
    visibilityTimeoutMs: options.visibilityTimeoutMs,
    // infra/constructs/verify.ts: a part that fails 3 times goes to the verify DLQ.
    maxReceiveCount: 3,
    batchSize: 1,
    maxConcurrency: 1,
    consumer: {
      functionName: 'ekb-archive-verify',
      timeoutMs: options.copyTimeoutMs,
      handler: (event, context) => functions().verify(event, context),
    },
    onEvent: (e: QueueEvent) => {
      if (e.kind === 'dead_lettered') say(`verify queue: message ${e.messageId} moved to its DLQ`);
    },
  });
}

/** The stack's API routes, plus a local-only status route for the queue, its DLQ and fan-out's failures. */
function apiRoutes(functions: () => LocalFunctions, queue: LocalQueue, fanOut: FanOutQueues): ApiRoute[] {
  const resolve: ApiHandler = (e, c) => functions().resolve(e, c);
  const jobsApi: ApiHandler = (e, c) => functions().jobsApi(e, c);
  return [
    {
      method: 'POST',
      path: '/attachments/download-urls',
      functionName: 'ekb-archive-resolve',
      handler: resolve,
    },
    { method: 'POST', path: '/copy-jobs', functionName: 'ekb-archive-jobs-api', handler: jobsApi },
    {
      // As in AWS, the one route without IAM: 合思 cannot sign; the secret in the path is checked by the function.
      method: 'POST',
      path: '/hooks/{proxy+}',
      functionName: 'ekb-archive-hooks',
      handler: (e, c) => functions().hooks(e, c),
      anonymous: true,
    },
    { method: 'GET', path: '/copy-jobs/{jobId}', functionName: 'ekb-archive-jobs-api', handler: jobsApi },
    { method: 'POST', path: '/form-archives', functionName: 'ekb-archive-jobs-api', handler: jobsApi },
    {
      method: 'GET',
      path: '/copy-jobs/{jobId}/index',
      functionName: 'ekb-archive-jobs-api',
      handler: jobsApi,
    },
    { method: 'POST', path: '/verify-jobs', functionName: 'ekb-archive-jobs-api', handler: jobsApi },
    { method: 'GET', path: '/verify-jobs/{runId}', functionName: 'ekb-archive-jobs-api', handler: jobsApi },
    {
      // Local only (no such route in AWS): the queue, its DLQ and fan-out's failure destination.
      method: 'GET',
      path: '/_local/queues',
      functionName: 'local-status',
      handler: async () => ({
        statusCode: 200,
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
        body: JSON.stringify(
          {
            queue: { name: queue.name, url: queue.url, ...queue.stats },
            deadLetterQueue: queue.deadLetters(),
            fanOutQueues: {
              [fanOut.manifests.name]: fanOut.manifests.stats,
              [fanOut.schedule.name]: fanOut.schedule.stats,
            },
            fanOutFailures: fanOut.failures(),
          },
          null,
          2,
        ),
      }),
    },
  ];
}

/**
 * Only one process runs on an embedded store's data folder (data-lock.ts), and the CLI's sync keeps its state in
 * memory: a sync lock found in the bucket at start was left by a run of a process that is gone. Without this the
 * schedule would skip every run until the lock expired.
 */
async function releaseStaleSyncLock(
  store: LocalFunctions['store'],
  say: (line: string) => void,
): Promise<{ runId: string; acquiredAt: string } | undefined> {
  const state = await store.getJson<SyncState>(DEFAULT_SYNC_STATE_KEY).catch(() => undefined);
  if (!state?.lock) return undefined;
  const { lock, ...rest } = state;
  await store.putJson(DEFAULT_SYNC_STATE_KEY, {
    ...rest,
    lastError: {
      runId: lock.runId,
      at: new Date().toISOString(),
      code: ErrorCode.SyncInterrupted,
      message: 'the local stack stopped during this run; its lock was released at the next start',
    },
  } satisfies SyncState);
  say(
    `sync: released the lock of run ${lock.runId} (started ${lock.acquiredAt}): the process running it stopped; the next run continues from the watermark`,
  );
  return { runId: lock.runId, acquiredAt: lock.acquiredAt };
}
