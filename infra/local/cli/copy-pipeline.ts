/**
 * The pipeline `copy` and `sync` share: job creation (the functions' createJob) → the in-process queue
 * (CopyRunner) → the copy engine (runBatchMessage with the copy function's own collaborators from the composition
 * root, so it also writes jobs/<jobId>/batches/*.json like the copy function), with live progress and Ctrl-C
 * handling. `--dry-run` runs only the engine's first step (resolveBatch: one downloadurls call, the object keys) and
 * prints what it would write, touching no bucket.
 */
import { pipeline, type Readable, Transform } from 'node:stream';
import { copyEngine } from '../../../functions/compose/copy.js';
import { reportStoreIn } from '../../../functions/compose/storage.js';
import { lanesFromConfig } from '../../../functions/config.js';
import type { Lanes } from '../../../functions/core/attachments/lanes.js';
import { OBJECT_KEY_PLACEHOLDERS } from '../../../functions/core/attachments/object-key.js';
import { planTargets } from '../../../functions/core/copy/plan-targets.js';
import { resolveBatch } from '../../../functions/core/copy/resolve-batch.js';
import { runBatchMessage } from '../../../functions/core/copy/run-batch.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import { DEFAULT_EXPIRATION_SECONDS } from '../../../functions/core/model/resolution.js';
import type { ObjectSink, ReportStore } from '../../../functions/core/ports.js';
import { UsageError } from './cli-errors.js';
import type { CliContext } from './context.js';
import { abortedResult, CopyRunner } from './copy-runner.js';

export interface PipelineOptions {
  /** Target bucket; undefined only for a dry run. */
  bucket: string | undefined;
  /** Files in flight in all. */
  concurrency: number;
  dryRun: boolean;
  /** The bucket's lanes for this run (cliLanes). */
  lanes: Lanes;
}

export interface Pipeline {
  runner: CopyRunner;
  /** Where job.json and batch reports go (an in-memory store for a dry run: nothing is written). */
  store: ReportStore;
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
  const batchesInFlight = Math.min(2, options.concurrency);
  const perBatch = Math.max(1, Math.floor(options.concurrency / batchesInFlight));
  let store: ReportStore;
  let runBatch: RunBatch;
  if (options.dryRun) {
    store = memoryStore();
    runBatch = await planner(ctx, options.bucket, options.lanes);
  } else {
    if (!options.bucket) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    store = reportStoreIn(ctx.composition(), options.bucket);
    runBatch = copier(ctx, options.bucket, store, { concurrency: perBatch, lanes: options.lanes });
  }
  const runner = new CopyRunner({
    batchesInFlight,
    signal: ctx.signal,
    runBatch,
    onQueued: (message) => ctx.reporter.addRefs(message.refs.length),
    onResults: (_message, results) => {
      for (const r of results) reportResult(ctx, r);
    },
  });
  return { runner, store };
}

/**
 * The dry run: each batch planned and resolved exactly as the engine would (object keys held to the lanes, one
 * downloadurls call), each planned key printed; the bucket is not read, so nothing says skipped yet.
 */
async function planner(ctx: CliContext, bucket: string | undefined, lanes: Lanes): Promise<RunBatch> {
  const resolver = await ctx.ekuaibao();
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

/** The copy: runBatchMessage with the copy function's collaborators, and live progress for the bar. */
function copier(
  ctx: CliContext,
  bucket: string,
  reports: ReportStore,
  { concurrency, lanes }: { concurrency: number; lanes: Lanes },
): RunBatch {
  const { config } = ctx;
  const engine = copyEngine(ctx.composition(), bucket);
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
  return async (message, signal) => {
    const live = { files: 0, bytes: 0 };
    liveByBatch.set(message.batchId, live);
    try {
      const outcome = await runBatchMessage(
        // One attempt: there is no queue to hand a batch back to, so its report is final.
        { message, attempt: 1, maxReceiveCount: 1, signal },
        {
          ...engine,
          sink: countingSink(engine.sink, live, publishLive),
          reports,
          logger: ctx.logger,
          reportPrefix: config.reportPrefix,
          defaultKeyTemplate: config.objectKeyTemplate,
          concurrency,
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

function reportResult(ctx: CliContext, r: CopyResult): void {
  if (r.status === 'copied') {
    ctx.reporter.event({
      type: 'copied',
      id: r.id,
      key: r.key,
      objectKey: r.objectKey,
      bytes: r.bytes,
      ms: r.ms,
    });
    return;
  }
  if (r.status === 'skipped') {
    ctx.reporter.event({ type: 'skipped', id: r.id, key: r.key, objectKey: r.objectKey, reason: r.reason });
    return;
  }
  // The engine says `deadline` for files it stopped; here the stop was the user's Ctrl-C.
  const stopped = ctx.signal.aborted && (r.code === 'deadline' || r.code === 'aborted');
  const result = stopped ? abortedResult(r, r.objectKey) : r;
  if (result.status !== 'failed') return;
  ctx.reporter.event({
    type: 'failed',
    id: result.id,
    key: result.key,
    ...(result.objectKey === undefined ? {} : { objectKey: result.objectKey }),
    code: result.code,
    message: result.message,
    retryable: result.retryable,
  });
}
