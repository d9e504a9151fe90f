/**
 * The pipeline `copy` and `sync` share: job creation (the functions' createJob) → the in-process queue
 * (CopyRunner) → the copy engine (runBatchMessage, which also writes jobs/<jobId>/batches/*.json like the copy
 * function), with live progress and Ctrl-C handling. `--dry-run` swaps the engine for a planner that resolves each
 * batch and prints the object keys it would write, touching no bucket.
 */
import { pipeline, type Readable, Transform } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3ReportStore } from '../../../functions/aws/s3-report-store.js';
import { createS3Sink } from '../../../functions/aws/s3-sink.js';
import { OBJECT_KEY_PLACEHOLDERS, objectKeyFor } from '../../../functions/core/attachments/object-key.js';
import { runBatchMessage } from '../../../functions/core/copy/run-batch.js';
import {
  createUndiciDownloader,
  type UndiciDownloader,
} from '../../../functions/core/copy/undici-downloader.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import type { ObjectSink, ReportStore } from '../../../functions/core/ports.js';
import { createDownloadGuard, systemResolveHost } from '../../../functions/core/security/download-guard.js';
import { createGuardedAgent } from '../../../functions/core/security/guarded-agent.js';
import { UsageError } from './cli-errors.js';
import type { CliContext } from './context.js';
import { abortedResult, CopyRunner } from './copy-runner.js';

export interface PipelineOptions {
  /** Target bucket; undefined only for a dry run. */
  bucket: string | undefined;
  s3: S3Client | undefined;
  /** Files in flight in all. */
  concurrency: number;
  dryRun: boolean;
}

export interface Pipeline {
  runner: CopyRunner;
  /** Where job.json and batch reports go (an in-memory store for a dry run: nothing is written). */
  store: ReportStore;
  close(): Promise<void>;
}

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
  const { reporter, config } = ctx;
  const resolver = await ctx.ekuaibao();
  const batchesInFlight = Math.min(2, options.concurrency);
  const perBatch = Math.max(1, Math.floor(options.concurrency / batchesInFlight));
  const liveByBatch = new Map<string, { files: number; bytes: number }>();
  const publishLive = () => {
    let files = 0;
    let bytes = 0;
    for (const l of liveByBatch.values()) {
      files += l.files;
      bytes += l.bytes;
    }
    reporter.setLive(files, bytes);
  };

  let downloader: UndiciDownloader | undefined;
  let agent: { close(): Promise<void> } | undefined;
  let store: ReportStore;
  let runBatch: (message: BatchMessage, signal: AbortSignal) => Promise<CopyResult[]>;

  if (options.dryRun) {
    store = memoryStore();
    runBatch = async (message, signal) => {
      const resolutions = await resolver.resolveDownloadUrls(
        message.refs.map((r) => ({ id: r.id, key: r.key })),
        { signal },
      );
      resolutions.forEach((resolution, i) => {
        const ref = message.refs[i] as (typeof message.refs)[number];
        if (resolution.status === 'not_found') {
          reporter.event({
            type: 'failed',
            id: ref.id,
            key: ref.key,
            code: 'not_found',
            retryable: false,
            message: '合思 does not know this attachment (id and key)',
          });
          return;
        }
        try {
          const objectKey = objectKeyFor(
            ref,
            resolution,
            message.keyTemplate ?? config.objectKeyTemplate,
            message.jobId,
          );
          reporter.event({
            type: 'planned',
            id: ref.id,
            key: ref.key,
            objectKey,
            ...(options.bucket ? { bucket: options.bucket } : {}),
            ...(resolution.fileName === undefined ? {} : { fileName: resolution.fileName }),
            ...(resolution.fileSize === undefined ? {} : { size: resolution.fileSize }),
          });
        } catch (err) {
          reporter.event({
            type: 'failed',
            id: ref.id,
            key: ref.key,
            code: (err as { code?: string }).code ?? 'invalid_object_key',
            retryable: false,
            message: (err as Error).message,
          });
        }
      });
      return [];
    };
  } else {
    if (!options.bucket || !options.s3) throw new UsageError('which bucket? pass --bucket or set EKB_BUCKET');
    const s3 = options.s3;
    const bucket = options.bucket;
    store = createS3ReportStore({ client: s3, bucket });
    // The copy function's download guard: only allow-listed hosts (EKB_ALLOWED_DOWNLOAD_HOSTS), checked before the
    // GET and again at connect time; plain-http loopback only with --sandbox (or EKB_ALLOW_INSECURE_DOWNLOADS).
    const guard = createDownloadGuard({
      allowedHosts: config.allowedDownloadHosts,
      allowInsecure: config.allowInsecureDownloads,
      resolveHost: systemResolveHost,
    });
    const guardedAgent = createGuardedAgent({ guard });
    agent = guardedAgent;
    downloader = createUndiciDownloader({ dispatcher: guardedAgent });
    const sink = createS3Sink({
      client: s3,
      bucket,
      partSizeBytes: config.partSizeBytes,
      queueSize: config.partConcurrency,
    });
    const engine = downloader;
    runBatch = async (message, signal) => {
      const live = { files: 0, bytes: 0 };
      liveByBatch.set(message.batchId, live);
      try {
        const outcome = await runBatchMessage(
          // One attempt: there is no queue to hand a batch back to, so its report is final.
          { message, attempt: 1, maxReceiveCount: 1, signal },
          {
            resolver,
            sink: countingSink(sink, live, publishLive),
            downloader: engine,
            checkUrl: guard.checkUrl,
            reports: store,
            logger: ctx.logger,
            reportPrefix: config.reportPrefix,
            defaultKeyTemplate: config.objectKeyTemplate,
            concurrency: perBatch,
          },
        );
        return outcome.report.results;
      } finally {
        liveByBatch.delete(message.batchId);
        publishLive();
      }
    };
  }

  const runner = new CopyRunner({
    batchesInFlight,
    signal: ctx.signal,
    runBatch,
    onQueued: (message) => reporter.addRefs(message.refs.length),
    onResults: (_message, results) => {
      for (const r of results) {
        if (r.status === 'copied') {
          reporter.event({
            type: 'copied',
            id: r.id,
            key: r.key,
            objectKey: r.objectKey,
            bytes: r.bytes,
            ms: r.ms,
          });
        } else if (r.status === 'skipped') {
          reporter.event({ type: 'skipped', id: r.id, key: r.key, objectKey: r.objectKey, reason: r.reason });
        } else {
          // The engine says `deadline` for files it stopped; here the stop was the user's Ctrl-C.
          const stopped = ctx.signal.aborted && (r.code === 'deadline' || r.code === 'aborted');
          const result = stopped ? abortedResult(r, r.objectKey) : r;
          if (result.status !== 'failed') continue;
          reporter.event({
            type: 'failed',
            id: result.id,
            key: result.key,
            ...(result.objectKey === undefined ? {} : { objectKey: result.objectKey }),
            code: result.code,
            message: result.message,
            retryable: result.retryable,
          });
        }
      }
    },
  });

  return {
    runner,
    store,
    async close() {
      await downloader?.close();
      await agent?.close();
    },
  };
}
