/**
 * The pipeline `copy` and `sync` share: job creation (the functions' createJob) → the in-process queue
 * (CopyRunner) → the copy engine (runBatchMessage with the copy function's own collaborators from the composition
 * root, so it also writes jobs/<jobId>/batches/*.json like the copy function), with live progress and Ctrl-C
 * handling. `--dry-run` runs only the engine's planning (planTargets: the object keys, held to the lanes; then
 * resolveBatch: one downloadurls call) and prints what it would write, touching no bucket; without 合思 credentials
 * it plans from the manifest alone.
 *
 * Two things make a run end as a whole rather than ref by ref:
 * - a batch whose every ref failed for the same reason outside the file (合思 refused the credentials, cannot be
 *   reached, keeps answering 5xx) stops the run: one line and exit 3, not one failed line per ref; the refs not run
 *   are `cancelled` and a resumed run tries them again;
 * - resuming (copy --job-id) a batch whose stored report describes other refs than the manifest gives: exit 2.
 */
import { pipeline, type Readable, Transform } from 'node:stream';
import { lanesFromConfig } from '../../../functions/config.js';
import type { Lanes } from '../../../functions/core/attachments/lanes.js';
import { OBJECT_KEY_PLACEHOLDERS } from '../../../functions/core/attachments/object-key.js';
import { parseDpKey } from '../../../functions/core/attachments/ref.js';
import type { CopyDeps } from '../../../functions/core/copy/copy-batch.js';
import { planTargets } from '../../../functions/core/copy/plan-targets.js';
import { resolveBatch } from '../../../functions/core/copy/resolve-batch.js';
import { runBatchMessage } from '../../../functions/core/copy/run-batch.js';
import { type TransferSlots, transferSlots } from '../../../functions/core/copy/transfer-slots.js';
import {
  AppError,
  CancelledError,
  EkuaibaoAuthError,
  type ErrorCode,
  ValidationError,
} from '../../../functions/core/errors.js';
import { batchReportKey } from '../../../functions/core/jobs/keys.js';
import {
  type BatchMessage,
  type BatchReport,
  MAX_REFS_PER_MESSAGE,
} from '../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import { DEFAULT_EXPIRATION_SECONDS, type Resolution } from '../../../functions/core/model/resolution.js';
import type {
  DownloadUrlResolver,
  ObjectSink,
  ReportStore,
  TextStore,
} from '../../../functions/core/ports.js';
import { RunStoppedError, UsageError } from './cli-errors.js';
import type { CliContext } from './context.js';
import { abortedResult, CopyRunner } from './copy-runner.js';
import type { ItemEvent } from './progress.js';

export interface PipelineOptions {
  /** Target bucket; undefined only for a dry run. */
  bucket: string | undefined;
  /** Files downloading at once, in all batches (each file's upload overlaps the next file's download). */
  concurrency: number;
  dryRun: boolean;
  /** The bucket's lanes for this run (cliLanes). */
  lanes: Lanes;
  /**
   * The job may have run before (copy --job-id): each batch's stored report is read first, and its settled refs
   * (copied, skipped, or failed for a reason of the file's own) are not run again.
   */
  resume?: boolean;
}

export interface Pipeline {
  runner: CopyRunner;
  /** Where job.json and batch reports go (an in-memory store for a dry run: nothing is written). */
  store: ReportStore;
  /** Fires on Ctrl-C and when the run stops as a whole; give it to job creation and the sync. */
  readonly signal: AbortSignal;
  /** Why the run stopped as a whole (a RunStoppedError), if it did: the command ends with it. */
  readonly stopped: RunStoppedError | undefined;
}

type RunBatch = (message: BatchMessage, signal: AbortSignal) => Promise<CopyResult[]>;

/** Rejects templates with placeholders the engine does not know, before any work starts. */
export function checkKeyTemplate(template: string): void {
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)]
    .map((m) => m[1] as string)
    .filter((name) => !(OBJECT_KEY_PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `--key-template has unknown placeholder(s) ${unknown.map((n) => `{${n}}`).join(', ')} (known: ${OBJECT_KEY_PLACEHOLDERS.map((n) => `{${n}}`).join(' ')})`,
    );
  }
  if (template.trim() === '') throw new UsageError('--key-template must not be empty');
}

/**
 * The lanes of a CLI run: the configured ones plus the root of a --key-template (the flag is configuration, like
 * EKB_OBJECT_KEY_TEMPLATE), which may not lie in a system lane (jobs/, sync/, manifests/, hooks/, verify/).
 */
export function cliLanes(ctx: CliContext, keyTemplate: string): Lanes {
  const { lanes, problems } = lanesFromConfig(ctx.config, [keyTemplate]);
  if (problems.length > 0) throw new UsageError(`--key-template or lanes: ${problems.join('; ')}`);
  return lanes;
}

export function parseConcurrency(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(`--concurrency must be a whole number from 1 to 256 (got "${raw}")`);
  }
  return n;
}

/**
 * Failure codes that say nothing about the file: the same for every ref of a batch, and for every batch after it
 * (合思's credentials, reachability, health). A batch failing entirely with one of them stops the run, and a
 * resumed job tries such refs again even where their failure was marked final.
 */
const RUN_STOPPERS =
  /^(ekuaibao_auth|ekuaibao_network|ekuaibao_timeout|ekuaibao_credentials_unavailable|ekuaibao_credentials_malformed|ekuaibao_http_(429|5\d\d)|cancelled|aborted|deadline)$/;

/** A result an earlier run settled for good: copied, skipped, or failed for a reason of the file's own. */
export function isSettled(r: CopyResult): boolean {
  return r.status !== 'failed' || (!r.retryable && !RUN_STOPPERS.test(r.code));
}

/** The batch failed as a whole for a reason outside its files: the error to stop the run with. */
function runStopperOf(results: readonly CopyResult[]): AppError | undefined {
  const first = results[0];
  if (first?.status !== 'failed' || !RUN_STOPPERS.test(first.code)) return undefined;
  // Those three are this run's own stop (Ctrl-C, or a stop already under way), not a reason to stop it.
  if (/^(cancelled|aborted|deadline)$/.test(first.code)) return undefined;
  if (!results.every((r) => r.status === 'failed' && r.code === first.code)) return undefined;
  if (first.code === 'ekuaibao_auth') return new EkuaibaoAuthError(first.message);
  return new AppError(first.code as ErrorCode, first.message);
}

function memoryStore(): ReportStore {
  const items = new Map<string, string>();
  return {
    async putJson(key, value) {
      items.set(key, JSON.stringify(value));
    },
    async getJson<T>(key: string) {
      const v = items.get(key);
      return v === undefined ? undefined : (JSON.parse(v) as T);
    },
    async list(prefix) {
      return [...items.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  };
}

/** A sink that tells the bar how many bytes went through and how many files finished, as they happen. */
function countingSink(
  sink: ObjectSink,
  live: { files: number; bytes: number },
  changed: () => void,
): ObjectSink {
  return {
    head: (key, signal) => sink.head(key, signal),
    ...(sink.listKeys ? { listKeys: sink.listKeys.bind(sink) } : {}),
    async put(key, body: Readable, options) {
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          live.bytes += chunk.length;
          changed();
          callback(null, chunk);
        },
      });
      // A failing download destroys `body`; pipeline hands that error on, so the upload aborts as it should.
      pipeline(body, counter, () => {});
      const out = await sink.put(key, counter, options);
      live.files += 1;
      changed();
      return out;
    },
  };
}

export async function createPipeline(ctx: CliContext, options: PipelineOptions): Promise<Pipeline> {
  // Slots are counted across batches: while one batch's last files finish, the next batch (already resolved: its
  // downloadurls call ran while the first one copied) fills the free slots, so the run never idles at a batch
  // boundary. One batch more than the slots need keeps a resolved batch waiting behind the running ones.
  const slots = transferSlots(options.concurrency);
  const batchesInFlight = Math.max(2, Math.ceil(options.concurrency / MAX_REFS_PER_MESSAGE) + 1);
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let stopped: RunStoppedError | undefined;
  const stopRun = (cause: unknown): void => {
    if (stopped || ctx.signal.aborted) return;
    stopped = new RunStoppedError(cause);
    const why = cause instanceof AppError ? cause.code : 'the job does not match';
    stop.abort(
      new CancelledError(`not finished: the run stopped (${why}); run the same command again to resume`),
    );
  };

  let store: ReportStore;
  let runBatch: RunBatch;
  if (options.dryRun) {
    store = memoryStore();
    runBatch = await planner(ctx, options.bucket, options.lanes);
  } else {
    if (!options.bucket) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    // Loaded when a copy runs, not when the CLI starts: --help never pays for the AWS SDK or undici.
    const [{ reportStoreIn, textStoreIn }, { copyEngine }] = await Promise.all([
      import('../../../functions/compose/storage.js'),
      import('../../../functions/compose/copy.js'),
    ]);
    store = reportStoreIn(ctx.composition(), options.bucket);
    const engine = copyEngine(ctx.composition(), options.bucket);
    const copy = copier(
      ctx,
      engine,
      { reports: store, index: textStoreIn(ctx.composition(), options.bucket) },
      { concurrency: options.concurrency, slots, lanes: options.lanes },
    );
    runBatch = options.resume ? resuming(ctx, store, copy, stopRun) : (m, s) => copy(m, s, [], 1);
  }
  const runner = new CopyRunner({
    batchesInFlight,
    signal,
    runBatch,
    onQueued: (message) => ctx.reporter.addRefs(message.refs.length),
    onResults: (_message, results) => {
      const stopper = runStopperOf(results);
      if (stopper) stopRun(stopper);
      if (stopped) {
        // The run ends with one line: its refs are counted, not listed.
        ctx.reporter.countUnfinished(results.filter((r) => r.status === 'failed').length);
        ctx.reporter.events(results.filter((r) => r.status !== 'failed').map(eventOf));
        return;
      }
      ctx.reporter.events(results.map(eventOf));
    },
  });
  return {
    runner,
    store,
    signal,
    get stopped() {
      return stopped;
    },
  };
}

/** Plans keys without 合思: the resolution the engine would get, as far as the ref itself tells it. */
const offlineResolver: DownloadUrlResolver = {
  async resolveDownloadUrls(refs) {
    return refs.map((ref): Resolution => {
      const dp = parseDpKey(ref.key);
      return {
        status: 'resolved',
        id: ref.id,
        key: ref.key,
        url: 'about:blank',
        expiresAt: Number.MAX_SAFE_INTEGER,
        ...(dp?.fileName === undefined ? {} : { fileName: dp.fileName }),
        ...(dp?.fileSize === undefined ? {} : { fileSize: dp.fileSize }),
      };
    });
  },
};

/**
 * The dry run: each batch planned and resolved exactly as the engine would (object keys held to the lanes, one
 * downloadurls call), each planned key printed; the bucket is not read, so nothing says skipped yet.
 */
async function planner(ctx: CliContext, bucket: string | undefined, lanes: Lanes): Promise<RunBatch> {
  let resolver: DownloadUrlResolver;
  if (ctx.hasEkuaibaoCredentials) {
    resolver = await ctx.ekuaibao();
  } else {
    resolver = offlineResolver;
    ctx.reporter.note(
      'dry run without 合思 credentials: keys planned from the manifest alone (refs 合思 does not know are not found out, sizes unknown)',
    );
  }
  return async (message, signal) => {
    const plan = planTargets(message.refs, {
      jobId: message.jobId,
      keyTemplate: message.keyTemplate ?? ctx.config.objectKeyTemplate,
      lanes,
    });
    const { results, planned } = await resolveBatch(
      plan.targets,
      { expiration: DEFAULT_EXPIRATION_SECONDS, signal },
      resolver,
    );
    for (const { ref, resolution, objectKey } of planned) {
      ctx.reporter.event({
        type: 'planned',
        id: ref.id,
        key: ref.key,
        objectKey,
        ...(bucket ? { bucket } : {}),
        ...(resolution.fileName === undefined ? {} : { fileName: resolution.fileName }),
        ...(resolution.fileSize === undefined ? {} : { size: resolution.fileSize }),
      });
    }
    return [...plan.results.filter((r): r is CopyResult => r !== undefined), ...results.values()];
  };
}

type CopyBatch = (
  message: BatchMessage,
  signal: AbortSignal,
  settled: ReadonlyArray<CopyResult | undefined>,
  attempt: number,
) => Promise<CopyResult[]>;

/** The copy: runBatchMessage with the copy function's collaborators, and live progress for the bar. */
function copier(
  ctx: CliContext,
  engine: CopyDeps,
  { reports, index }: { reports: ReportStore; index: TextStore },
  { concurrency, slots, lanes }: { concurrency: number; slots: TransferSlots; lanes: Lanes },
): CopyBatch {
  const { config } = ctx;
  const liveByBatch = new Map<string, { files: number; bytes: number }>();
  const publishLive = () => {
    let files = 0;
    let bytes = 0;
    for (const l of liveByBatch.values()) {
      files += l.files;
      bytes += l.bytes;
    }
    ctx.reporter.setLive(files, bytes);
  };
  return async (message, signal, settled, attempt) => {
    const live = { files: 0, bytes: 0 };
    liveByBatch.set(message.batchId, live);
    try {
      const outcome = await runBatchMessage(
        // There is no queue to hand a batch back to: every attempt's report is final (a resumed run writes the
        // next attempt, which supersedes it).
        { message, attempt, maxReceiveCount: attempt, signal, settled },
        {
          ...engine,
          // Only the bar shows bytes as they stream; the plain and JSON modes skip the extra Transform per file.
          sink: ctx.reporter.mode === 'tty' ? countingSink(engine.sink, live, publishLive) : engine.sink,
          reports,
          index,
          logger: ctx.logger,
          reportPrefix: config.reportPrefix,
          defaultKeyTemplate: config.objectKeyTemplate,
          concurrency,
          slots,
          lanes,
        },
      );
      return outcome.report.results;
    } finally {
      liveByBatch.delete(message.batchId);
      publishLive();
    }
  };
}

/**
 * Resuming a job: a batch's stored report (if any) must describe this batch's refs; its settled refs are counted as
 * already done (successes) or reported again (failures of their own), and the rest are copied as the next attempt.
 */
function resuming(
  ctx: CliContext,
  reports: ReportStore,
  copy: CopyBatch,
  stopRun: (cause: unknown) => void,
): RunBatch {
  return async (message, signal) => {
    const report = await reports.getJson<BatchReport>(
      batchReportKey(message.jobId, message.batchId, ctx.config.reportPrefix),
    );
    if (report && !describesBatch(report, message)) {
      const mismatch = new ValidationError(
        `job ${message.jobId} already holds a batch ${message.batchId} of other refs than this manifest gives; give the manifest the job was started with, or another --job-id`,
      );
      stopRun(mismatch);
      return message.refs.map((ref) => abortedResult(ref, undefined, 'not run: the job does not match'));
    }
    const settled = (report?.results ?? []).map((r) => (isSettled(r) ? r : undefined));
    const earlierSuccesses = settled.filter((r) => r !== undefined && r.status !== 'failed').length;
    const results =
      settled.length === message.refs.length && settled.every((r) => r !== undefined)
        ? (settled as CopyResult[])
        : await copy(message, signal, settled, (report?.attempt ?? 0) + 1);
    ctx.reporter.addAlreadyDone(earlierSuccesses);
    // Earlier successes are counted, not listed again; earlier failures of a file's own are said again.
    return results.filter((r, i) => !(settled[i] === r && r.status !== 'failed'));
  };
}

function describesBatch(report: BatchReport, message: BatchMessage): boolean {
  if (report.results.length !== message.refs.length) return false;
  return report.results.every((r, i) => r.id === message.refs[i]?.id && r.key === message.refs[i]?.key);
}

function eventOf(r: CopyResult): ItemEvent {
  if (r.status === 'copied') {
    return {
      type: 'copied',
      id: r.id,
      key: r.key,
      objectKey: r.objectKey,
      bytes: r.bytes,
      ms: r.ms,
      sha256: r.record.sha256,
      sourceVerified: r.record.source.verified,
    };
  }
  if (r.status === 'skipped') {
    return { type: 'skipped', id: r.id, key: r.key, objectKey: r.objectKey, reason: r.reason };
  }
  return {
    type: 'failed',
    id: r.id,
    key: r.key,
    ...(r.objectKey === undefined ? {} : { objectKey: r.objectKey }),
    code: r.code,
    message: r.message,
    retryable: r.retryable,
  };
}
