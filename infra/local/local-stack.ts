/**
 * The deployed system, on one machine: the same four handlers, fed by local stand-ins for what AWS wires
 * around them (infra/stack.ts):
 *
 *   HTTP API (http-api.ts) ─► resolve, jobs-api             S3 ObjectCreated manifests/ ─┐
 *   schedule (scheduler.ts) ─────────────────────────────────────────────────────────────┴─► fan-out (async invoke)
 *   fan-out ─► copy queue (local-queue.ts, visibility, retries, DLQ) ─► copy ─► bucket
 *
 * Upstream: the tenant's 合思 when EKB_APP_KEY / EKB_APP_SECURITY (or EKB_CREDENTIALS_SECRET) are set, else the
 * sandbox. Target: the embedded S3 (s3rver, data on disk) unless EKB_BUCKET names a real bucket, which the AWS SDK
 * then reaches with its standard settings (region, credential chain, AWS_ENDPOINT_URL_S3).
 */
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event, ScheduledEvent } from 'aws-lambda';
import { createS3Client } from '../../functions/aws/s3-client.js';
import { type Config, loadConfig } from '../../functions/config.js';
import type { Logger } from '../../functions/core/ports.js';
import { type AsyncInvoker, createAsyncInvoker } from './async-invoker.js';
import { type EmbeddedS3, encodeEventKey, S3RVER_CREDENTIALS, startEmbeddedS3 } from './embedded-s3.js';
import { type ApiHandler, type ApiRoute, startHttpApi } from './http-api.js';
import { LOCAL_REGION } from './lambda-context.js';
import { buildLocalFunctions, type LocalFunctions } from './local-functions.js';
import { type Env, type LocalOptions, PROJECT_ROOT } from './local-options.js';
import { LocalQueue, localQueueUrl, type QueueEvent } from './local-queue.js';
import { startEkuaibaoSandbox } from './sandbox/server.js';
import type { EkuaibaoSandbox } from './sandbox/types.js';
import { type Schedule, startSchedule } from './scheduler.js';

export const MANIFESTS_PREFIX = 'manifests/';
/** Where a first sync against the sandbox starts: the day before its oldest demo form. */
export const DEMO_SYNC_START_DATE = '2026-02-26';
export const COPY_QUEUE_NAME = 'ekb-archive-copy';
export const VERIFY_QUEUE_NAME = 'ekb-archive-verify';
/** The stack's retry settings for fan-out's asynchronous invocations (infra/constructs/triggers.ts). */
const S3_EVENT_RETRIES = 2;
const SCHEDULE_RETRIES = 4;
/** AWS waits about 1 and 2 minutes between async retries; locally a few seconds show the same behaviour. */
const LOCAL_RETRY_DELAYS_MS = [2_000, 5_000, 10_000, 20_000];
const API_FUNCTION_TIMEOUT_MS = 29_000;

export interface LocalStackInput {
  env: Env;
  options: LocalOptions;
  logger: Logger;
  /** Human progress lines (the console). */
  say?: (line: string) => void;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly upstream: { kind: 'sandbox' | 'tenant'; baseUrl: string };
  readonly sandbox: EkuaibaoSandbox | undefined;
  readonly bucket: string;
  /** Set when the embedded S3 runs (else the bucket is a real one). */
  readonly embedded: EmbeddedS3 | undefined;
  readonly s3: S3Client;
  readonly queue: LocalQueue;
  readonly fanOut: AsyncInvoker<S3Event | ScheduledEvent>;
  readonly config: Config;
  readonly functions: LocalFunctions;
  readonly schedule: Schedule;
  /** Puts a manifest under manifests/ (the S3 notification then starts fan-out). */
  putManifest(name: string, body: string): Promise<string>;
  /** Resolves when fan-out and the queue have nothing left to do. */
  settled(): Promise<void>;
  close(): Promise<void>;
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

    let functions: LocalFunctions | undefined;
    const fn = (): LocalFunctions => functions as LocalFunctions;
    const queue = startCopyQueue(config, options, fn, say);
    cleanups.add(() => queue.close());
    const verifyQueue = startVerifyQueue(options, fn, say);
    cleanups.add(() => verifyQueue.close());
    functions = await buildLocalFunctions({
      config,
      s3: target.s3,
      queue,
      verifyQueue,
      logger,
      syncOptions: { windowMs: options.syncWindowMs },
    });
    cleanups.add(() => fn().close());

    const fanOut = startFanOutTriggers(fn, options, say, cleanups);
    // The bucket notification's filter: ObjectCreated under manifests/.
    onManifest = (event) => {
      const key = event.Records[0]?.s3.object.key;
      if (key !== undefined && decodeURIComponent(key.replace(/\+/g, ' ')).startsWith(MANIFESTS_PREFIX)) {
        void fanOut.fromS3.invoke(event);
      }
    };
    const poller = target.embedded
      ? undefined
      : startManifestPoller(
          target.s3,
          target.bucket,
          options.manifestPollMs,
          (e) => void fanOut.fromS3.invoke(e),
          say,
        );
    if (poller) cleanups.add(async () => poller.stop());

    const schedule = startSchedule(options.scheduleMs, async (event) => {
      await fanOut.fromSchedule.invoke(event);
    });
    cleanups.add(async () => schedule.stop());

    const api = await startHttpApi({
      host: options.host,
      port: options.apiPort,
      integrationTimeoutMs: API_FUNCTION_TIMEOUT_MS,
      routes: apiRoutes(fn, queue, fanOut.both),
    });
    cleanups.add(() => api.close());

    return {
      apiUrl: api.url,
      upstream: sandbox
        ? { kind: 'sandbox', baseUrl: sandbox.baseUrl }
        : { kind: 'tenant', baseUrl: config.ekbBaseUrl },
      sandbox,
      bucket: target.bucket,
      embedded: target.embedded,
      s3: target.s3,
      queue,
      fanOut: fanOut.both,
      config,
      functions,
      schedule,
      async putManifest(name, body) {
        const key = `${MANIFESTS_PREFIX}${name}`;
        const put = await target.s3.send(
          new PutObjectCommand({
            Bucket: target.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/x-ndjson',
          }),
        );
        if (poller) {
          // A real bucket cannot notify this machine: hand fan-out the event S3 would have sent, at once.
          poller.markSeen(key);
          void fanOut.fromS3.invoke(
            manifestEvent(target.bucket, key, Buffer.byteLength(body), put.ETag, put.VersionId),
          );
        }
        return key;
      },
      async settled() {
        // Fan-out queues batches; copy never starts fan-out, but a manifest upload or a tick may come meanwhile.
        for (;;) {
          await fanOut.both.idle();
          await queue.idle();
          if (fanOut.both.running === 0 && queue.stats.waiting === 0 && queue.stats.inFlight === 0) return;
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
  if (!realBucket) {
    const directory = isAbsolute(options.dataDir) ? options.dataDir : join(PROJECT_ROOT, options.dataDir);
    await mkdir(directory, { recursive: true });
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

/** The copy queue feeding the copy function, as the stack's event source does. */
function startCopyQueue(
  config: Config,
  options: LocalOptions,
  functions: () => LocalFunctions,
  say: (line: string) => void,
): LocalQueue {
  return new LocalQueue({
    name: COPY_QUEUE_NAME,
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

/** The verify queue feeding the verify function (POST /verify-jobs queues a run's parts on it). */
function startVerifyQueue(
  options: LocalOptions,
  functions: () => LocalFunctions,
  say: (line: string) => void,
): LocalQueue {
  return new LocalQueue({
    name: VERIFY_QUEUE_NAME,
    visibilityTimeoutMs: options.visibilityTimeoutMs,
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

interface FanOutTriggers {
  fromS3: AsyncInvoker<S3Event>;
  fromSchedule: AsyncInvoker<ScheduledEvent>;
  /** Both, as one invoker (status, idle, close). */
  both: AsyncInvoker<S3Event | ScheduledEvent>;
}

/** Fan-out's asynchronous invocations with the stack's retry counts: S3 notifications and the schedule. */
function startFanOutTriggers(
  functions: () => LocalFunctions,
  options: LocalOptions,
  say: (line: string) => void,
  cleanups: Cleanups,
): FanOutTriggers {
  const invoker = <E extends S3Event | ScheduledEvent>(what: string, retries: number): AsyncInvoker<E> =>
    createAsyncInvoker<E>((e, c) => functions().fanOut(e, c), {
      functionName: 'ekb-archive-fan-out',
      timeoutMs: options.fanOutTimeoutMs,
      retryDelaysMs: LOCAL_RETRY_DELAYS_MS.slice(0, retries),
      onFailure: (f) =>
        say(
          `fan-out: ${what} failed after ${f.attempts} tries: ${f.error} (kept in the fan-out failure queue)`,
        ),
    });
  const fromS3 = invoker<S3Event>('a manifest event', S3_EVENT_RETRIES);
  const fromSchedule = invoker<ScheduledEvent>('a scheduled sync', SCHEDULE_RETRIES);
  cleanups.add(() => fromS3.close());
  cleanups.add(() => fromSchedule.close());
  const both: AsyncInvoker<S3Event | ScheduledEvent> = {
    invoke: (event) =>
      'Records' in event ? fromS3.invoke(event) : fromSchedule.invoke(event as ScheduledEvent),
    get failures() {
      return [...fromS3.failures, ...fromSchedule.failures];
    },
    get running() {
      return fromS3.running + fromSchedule.running;
    },
    idle: async () => {
      await Promise.all([fromS3.idle(), fromSchedule.idle()]);
    },
    close: async () => {
      await Promise.all([fromS3.close(), fromSchedule.close()]);
    },
  };
  return { fromS3, fromSchedule, both };
}

/** The stack's API routes, plus a local-only status route for the queue, its DLQ and fan-out's failures. */
function apiRoutes(
  functions: () => LocalFunctions,
  queue: LocalQueue,
  fanOut: AsyncInvoker<S3Event | ScheduledEvent>,
): ApiRoute[] {
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
    { method: 'GET', path: '/copy-jobs/{jobId}', functionName: 'ekb-archive-jobs-api', handler: jobsApi },
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
            fanOutFailures: fanOut.failures,
          },
          null,
          2,
        ),
      }),
    },
  ];
}

/** The S3 event record for a manifest the stack saw appear in a real bucket. */
function manifestEvent(
  bucket: string,
  key: string,
  size: number,
  eTag?: string,
  versionId?: string,
): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: process.env.AWS_REGION ?? LOCAL_REGION,
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'local', 'x-amz-id-2': 'local' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'ekb-archive-manifests',
          bucket: { name: bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeEventKey(key),
            size,
            eTag: (eTag ?? '').replace(/"/g, ''),
            ...(versionId ? { versionId } : {}),
            sequencer: Date.now().toString(16).toUpperCase(),
          },
        },
      },
    ],
  };
}

/**
 * A real bucket cannot notify this machine: list manifests/ every few seconds and hand new objects (modified
 * after the stack started) to fan-out as the notification would.
 */
interface ManifestPoller {
  /** A key this process handed to fan-out itself. */
  markSeen(key: string): void;
  stop(): void;
}

function startManifestPoller(
  s3: S3Client,
  bucket: string,
  intervalMs: number,
  deliver: (event: S3Event) => void,
  say: (line: string) => void,
): ManifestPoller {
  // LastModified has one-second precision: an upload in the stack's first second must still count as new.
  const startedAt = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const seen = new Set<string>();
  let busy = false;
  let warned = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: MANIFESTS_PREFIX, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key || seen.has(o.Key) || (o.LastModified?.getTime() ?? 0) < startedAt) continue;
          seen.add(o.Key);
          deliver(manifestEvent(bucket, o.Key, o.Size ?? 0, o.ETag));
        }
        token = page.NextContinuationToken;
      } while (token);
    } catch (err) {
      if (!warned) say(`manifest poll of s3://${bucket}/${MANIFESTS_PREFIX} failed: ${(err as Error).name}`);
      warned = true;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), intervalMs);
  return {
    markSeen: (key) => seen.add(key),
    stop: () => clearInterval(timer),
  };
}
