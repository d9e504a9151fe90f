/**
 * The four deployed handlers, built from the one composition root (functions/compose/), so the local stack runs
 * exactly the wiring Lambda runs (the download guard, the report store, the manifest source, the 合思 client), with
 * the only swaps AWS would make invisible, passed as overrides: the copy queue is the in-process LocalQueue, and the
 * copy metrics (EMF lines for CloudWatch) go to the debug log instead of the console. The sync state is the
 * deployed one (PutObject If-None-Match / If-Match on sync/state.json): the embedded S3 honours conditional writes
 * (conditional-writes.ts), and so does a real bucket.
 *
 * The S3 side comes from the AWS SDK's standard environment, as in Lambda: local-stack.ts points it at the
 * embedded S3 when that runs.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Context, S3Event, ScheduledEvent, SQSEvent } from 'aws-lambda';
import { createS3ReportStore } from '../../functions/aws/s3-report-store.js';
import { compose } from '../../functions/compose/composition.js';
import { copyHandlerDeps } from '../../functions/compose/copy.js';
import { resolveHandlerDeps } from '../../functions/compose/ekuaibao.js';
import { fanOutDeps, jobsApiDeps } from '../../functions/compose/storage.js';
import { formArchiveDeps, scheduledSync } from '../../functions/compose/sync.js';
import { verifyHandlerDeps } from '../../functions/compose/verify.js';
import type { Config } from '../../functions/config.js';
import { createHandler as createCopyHandler } from '../../functions/copy/handler.js';
import { getJobStatus } from '../../functions/core/jobs/job-status.js';
import { batchReportKey, jobRecordKey } from '../../functions/core/jobs/keys.js';
import type { BatchMessage, BatchReport } from '../../functions/core/model/batch.js';
import type { CopyResult } from '../../functions/core/model/copy-result.js';
import type { JobRecord, JobStatus } from '../../functions/core/model/job.js';
import type { VerifyMessage } from '../../functions/core/model/verify.js';
import type { BatchQueue, Logger, ReportStore, WorkQueue } from '../../functions/core/ports.js';
import type { SyncOptions } from '../../functions/core/sync/sync-options.js';
import { createHandler as createFanOutHandler } from '../../functions/fan-out/handler.js';
import { createHandler as createJobsApiHandler } from '../../functions/jobs-api/handler.js';
import { createHandler as createResolveHandler } from '../../functions/resolve/handler.js';
import { createHandler as createVerifyHandler } from '../../functions/verify/handler.js';
import type { ApiHandler } from './http-api.js';
import { type LocalQueue, SQS_MAX_BATCH_ENTRIES } from './local-queue.js';
import { NO_PAUSE_POINTS, type PausePoints } from './pause-points.js';

export interface LocalFunctions {
  resolve: ApiHandler;
  jobsApi: ApiHandler;
  fanOut: (event: S3Event | ScheduledEvent, context: Context) => Promise<unknown>;
  copy: (event: SQSEvent, context: Context) => Promise<unknown>;
  /** The verify worker (fed by the verify queue). */
  verify: (event: SQSEvent, context: Context) => Promise<unknown>;
  /** Every job record in the bucket. */
  jobRecords(): Promise<JobRecord[]>;
  /** The job fan-out created for a manifest (found by its job record's source). */
  jobForManifest(bucket: string, key: string): Promise<JobRecord | undefined>;
  jobStatus(jobId: string): Promise<JobStatus | undefined>;
  /** Every ref's result, from the batch reports written so far. */
  jobResults(jobId: string): Promise<CopyResult[]>;
  readonly store: ReportStore;
  close(): Promise<void>;
}

export interface LocalFunctionsInput {
  config: Config;
  s3: S3Client;
  queue: LocalQueue;
  /** The verify queue (POST /verify-jobs queues a run's parts on it). */
  verifyQueue: LocalQueue;
  logger: Logger;
  /** Extra sync options (the local stack's window size and lock lifetime). */
  syncOptions?: Partial<SyncOptions>;
  /** Test-only pause points (pause-points.ts). */
  pausePoints?: PausePoints;
}

/** The WorkQueue port on a local queue: one message per send, as SQS SendMessage. */
export function localWorkQueue<T>(queue: LocalQueue): WorkQueue<T> {
  return {
    async send(message: T) {
      const out = queue.sendBatch([{ id: 'm0', body: JSON.stringify(message) }]);
      if (out.failed.length > 0)
        throw new Error(`local queue refused the message: ${out.failed[0]?.message}`);
    },
  };
}

/**
 * The BatchQueue port on the local queue: one message per batch, sent 10 at a time like SendMessageBatch. The
 * `batches-queued` pause point is after a group is on disk and before the caller goes on (fan-out: before it reads
 * further or records the job).
 */
export function localBatchQueue(queue: LocalQueue, pause: PausePoints = NO_PAUSE_POINTS): BatchQueue {
  return {
    async sendBatches(messages: BatchMessage[], signal?: AbortSignal) {
      for (let i = 0; i < messages.length; i += SQS_MAX_BATCH_ENTRIES) {
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        const group = messages.slice(i, i + SQS_MAX_BATCH_ENTRIES);
        const out = queue.sendBatch(group.map((m, j) => ({ id: `m${j}`, body: JSON.stringify(m) })));
        if (out.failed.length > 0) {
          throw new Error(
            `local queue refused ${out.failed.length} batch message(s): ${out.failed[0]?.message}`,
          );
        }
        await pause.reach('batches-queued');
      }
    },
  };
}

export async function buildLocalFunctions(input: LocalFunctionsInput): Promise<LocalFunctions> {
  const { config, s3, queue, logger } = input;
  const store = createS3ReportStore({ client: s3, bucket: config.bucket as string });
  const fn = (name: string): Logger => logger.child({ function: name });
  const c = compose(config, {
    logger,
    s3,
    queue: localBatchQueue(queue, input.pausePoints),
    reports: store,
    metrics: (values) => fn('copy').debug('copy metrics', values),
    verifyQueue: localWorkQueue<VerifyMessage>(input.verifyQueue),
    ...(input.syncOptions ? { syncOptions: input.syncOptions } : {}),
  });
  const resolve = createResolveHandler(resolveHandlerDeps(c, fn('resolve')));
  const jobsApi = createJobsApiHandler(jobsApiDeps(c, fn('jobs-api')));
  const fanOut = createFanOutHandler({
    ...fanOutDeps(c, fn('fan-out')),
    sync: scheduledSync(c, fn('fan-out')),
    formArchives: formArchiveDeps(c),
  });
  const copy = createCopyHandler(copyHandlerDeps(c, fn('copy')));
  const verify = createVerifyHandler(verifyHandlerDeps(c, fn('verify')));

  const listJobRecords = async (): Promise<JobRecord[]> => {
    const keys = (await store.list(config.reportPrefix)).filter((k) => k.endsWith('/job.json'));
    const records = await Promise.all(keys.map((k) => store.getJson<JobRecord>(k)));
    return records.filter((r): r is JobRecord => r !== undefined);
  };

  return {
    resolve: (event, context) => resolve(event, context),
    jobsApi: (event, context) => jobsApi(event, context),
    fanOut: (event, context) => fanOut(event, context),
    copy: (event, context) => copy(event, context),
    verify: (event, context) => verify(event, context),
    store,
    jobRecords: listJobRecords,
    async jobForManifest(manifestBucket, key) {
      const records = await listJobRecords();
      return records
        .filter(
          (r) => r.source.kind === 'manifest' && r.source.bucket === manifestBucket && r.source.key === key,
        )
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    },
    jobStatus: (jobId) => getJobStatus(jobId, store, config.reportPrefix),
    async jobResults(jobId) {
      const record = await store.getJson<JobRecord>(jobRecordKey(jobId, config.reportPrefix));
      if (!record) return [];
      const results: CopyResult[] = [];
      for (const batchId of record.batchIds) {
        const report = await store.getJson<BatchReport>(batchReportKey(jobId, batchId, config.reportPrefix));
        if (report) results.push(...report.results);
      }
      return results;
    },
    close: () => c.close(),
  };
}
