/**
 * The copy engine: one batch of ≤100 refs → objects in the bucket. Every ref ends in exactly one result (copied,
 * skipped, failed with a code), in input order; nothing is lost silently.
 *
 * - The whole batch is resolved in ONE downloadurls call right before downloading (URLs live ≤1800 s; DP: header
 *   signatures ~15 min), never carried in messages.
 * - Bytes stream GET body → counting Transform → sink.put; memory is bounded by the sink's parts in flight.
 * - A body shorter (or longer) than its Content-Length fails the upload, so no partial object is left.
 * - 403 on the GET → that ref is resolved again once; 5xx/408/429/transport errors/short bodies → retried with
 *   backoff (3 tries in all); other 4xx → permanent.
 * - When `ctx.signal` aborts (the Lambda deadline nears) no new file starts, in-flight GETs and uploads are aborted,
 *   and every unfinished ref comes back `deadline` (retryable), so the queue hands it out again.
 */
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { contentDisposition, contentTypeFor } from '../attachments/content-type.js';
import { objectKeyFor, originalFileName } from '../attachments/object-key.js';
import { parseDpKey } from '../attachments/ref.js';
import { AppError, type ErrorCode, isAppError } from '../errors.js';
import type { CopyResult } from '../model/copy-result.js';
import type { CopyRef } from '../model/refs.js';
import type { Resolution, ResolvedAttachment } from '../model/resolution.js';
import type {
  Downloader,
  DownloadResponse,
  DownloadUrlResolver,
  Logger,
  ObjectHead,
  ObjectSink,
} from '../ports.js';
import {
  abortableSleep,
  type BackoffPolicy,
  backoffDelay,
  defaultSleep,
  type Sleep,
} from '../util/backoff.js';
import { redactText } from '../util/redact.js';

export const DEFAULT_COPY_CONCURRENCY = 8;
/** GET tries per file, including the first (a 403 → re-resolve does not count). */
export const DOWNLOAD_MAX_ATTEMPTS = 3;
// 500 ms doubling to 4 s with full jitter: two waits, ~1.5 s on average, small next to a Lambda's 15 min.
export const DOWNLOAD_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 4_000, maxRetryAfterMs: 4_000 };
/** A URL this close to its expiresAt is resolved again before the GET rather than risking a 403 mid-body. */
const EXPIRY_MARGIN_MS = 30_000;
/** S3 user metadata may hold 2 KB in all (keys + values); keep clear of it. */
const METADATA_BUDGET_BYTES = 1_900;

export interface CopyContext {
  jobId: string;
  /** Object key template; default attachments/{fileId}/{fileName}. */
  keyTemplate?: string;
  /** Files in flight at once. Default 8. */
  concurrency?: number;
  /** Fires before the Lambda deadline: stop starting files, abort in-flight ones. */
  signal?: AbortSignal;
  /** Seconds the resolved URLs stay valid (1..1800). Default 1800. */
  expiration?: number;
  /** Counters this run adds to (metrics). */
  stats?: CopyStats;
}

export interface CopyStats {
  /** Refs resolved a second time (403 on the GET, or a URL about to expire). */
  reResolves: number;
  /** GETs repeated after a transient failure. */
  downloadRetries: number;
}

export interface CopyDeps {
  resolver: DownloadUrlResolver;
  sink: ObjectSink;
  downloader: Downloader;
  logger: Logger;
  /** Epoch ms. */
  now?: () => number;
  sleep?: Sleep;
  random?: () => number;
  backoff?: Partial<BackoffPolicy>;
  /** Called before every GET; may throw an AppError (e.g. a host not on the allow-list) to fail that ref. */
  checkUrl?: (url: string) => void | Promise<void>;
}

export function newCopyStats(): CopyStats {
  return { reResolves: 0, downloadRetries: 0 };
}

type Failed = Extract<CopyResult, { status: 'failed' }>;

/** Ends one file's attempts with a result code; carries whether the batch may try again later. */
class CopyFailure extends AppError {
  constructor(code: ErrorCode, message: string, retryable: boolean) {
    super(code, message, { retryable });
  }
}

/** A download problem worth another GET (5xx, reset, timeout, short body). */
class TransientDownload extends CopyFailure {}

const DEADLINE_MESSAGE = 'stopped before the function deadline; will be retried';

function safeMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return redactText(raw).slice(0, 500) || 'unknown error';
}

function failed(
  ref: CopyRef,
  code: ErrorCode,
  message: string,
  retryable: boolean,
  objectKey?: string,
): Failed {
  return {
    status: 'failed',
    id: ref.id,
    key: ref.key,
    ...(objectKey === undefined ? {} : { objectKey }),
    code,
    retryable,
    message: redactText(message),
  };
}

function fromError(ref: CopyRef, err: unknown, objectKey?: string): Failed {
  if (err instanceof CopyFailure) return failed(ref, err.code, err.message, err.retryable, objectKey);
  if (isAppError(err)) return failed(ref, err.code, safeMessage(err), err.retryable, objectKey);
  return failed(ref, 'copy_failed', safeMessage(err), true, objectKey);
}

/** Header-safe metadata value: printable ASCII kept, anything else percent-encoded (deterministic, so comparable). */
function metadataValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Percent-encodes `value` whole code point by whole code point until `max` characters are used. */
function encodeWithin(value: string, max: number): string {
  let out = '';
  for (const cp of value.toWellFormed()) {
    const enc = encodeURIComponent(cp);
    if (out.length + enc.length > max) break;
    out += enc;
  }
  return out;
}

function fileIdMetadata(id: string): string {
  const v = metadataValue(id);
  return v.length <= 512 ? v : encodeWithin(id, 512);
}

export function objectMetadata(ref: CopyRef): Record<string, string> {
  const fileid = fileIdMetadata(ref.id);
  const budget = METADATA_BUDGET_BYTES - 'fileid'.length - fileid.length - 'ekb-key'.length;
  return { fileid, 'ekb-key': encodeWithin(ref.key, Math.max(0, budget)) };
}

function sameObject(head: ObjectHead | undefined, size: number | undefined, ref: CopyRef): boolean {
  if (!head || size === undefined || head.size !== size) return false;
  const fileid = head.metadata.fileid;
  return fileid === undefined || fileid === fileIdMetadata(ref.id);
}

/** Counts bytes on their way to the sink and errors at the end when they differ from Content-Length. */
class CountingTransform extends Transform {
  bytes = 0;
  constructor(private readonly expected: number | undefined) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) {
      cb(new TransientDownload('integrity', `body longer than Content-Length ${this.expected}`, true));
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      cb(
        new TransientDownload(
          'integrity',
          `body ended after ${this.bytes} of ${this.expected} bytes (Content-Length)`,
          true,
        ),
      );
      return;
    }
    cb();
  }
}

async function discard(res: DownloadResponse): Promise<void> {
  if (res.dump) await res.dump();
  else res.body.destroy();
}

function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

interface FileJob {
  index: number;
  ref: CopyRef;
  resolution: ResolvedAttachment;
  objectKey: string;
}

export async function copyBatch(
  refs: readonly CopyRef[],
  ctx: CopyContext,
  deps: CopyDeps,
): Promise<CopyResult[]> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const backoff: BackoffPolicy = { ...DOWNLOAD_BACKOFF, ...deps.backoff };
  const concurrency = Math.max(1, Math.floor(ctx.concurrency ?? DEFAULT_COPY_CONCURRENCY));
  const expiration = ctx.expiration ?? 1800;
  const signal = ctx.signal ?? new AbortController().signal;
  const stats = ctx.stats ?? newCopyStats();
  const log = deps.logger.child({ jobId: ctx.jobId });
  const results: Array<CopyResult | undefined> = new Array(refs.length);
  const deadline = (ref: CopyRef, objectKey?: string): Failed =>
    failed(ref, 'deadline', DEADLINE_MESSAGE, true, objectKey);

  // A broken ref fails alone; it must not make the one resolve call (and so the whole batch) fail.
  const valid: Array<{ index: number; ref: CopyRef }> = [];
  refs.forEach((ref, index) => {
    const problem = refProblem(ref);
    if (problem) results[index] = failed(echoIds(ref), 'invalid_ref', problem, false);
    else valid.push({ index, ref });
  });

  let resolutions: Resolution[] = [];
  if (valid.length > 0 && signal.aborted) {
    for (const v of valid) results[v.index] = deadline(v.ref);
  } else if (valid.length > 0) {
    try {
      resolutions = await deps.resolver.resolveDownloadUrls(
        valid.map((v) => ({ id: v.ref.id, key: v.ref.key })),
        { expiration, signal },
      );
      if (resolutions.length !== valid.length) {
        throw new AppError('bad_upstream_response', 'resolver answered a different number of refs', {
          retryable: true,
        });
      }
    } catch (err) {
      for (const v of valid) results[v.index] = signal.aborted ? deadline(v.ref) : fromError(v.ref, err);
      resolutions = [];
    }
  }

  const jobs: FileJob[] = [];
  resolutions.forEach((resolution, i) => {
    const { index, ref } = valid[i] as { index: number; ref: CopyRef };
    if (resolution.status === 'not_found') {
      results[index] = failed(ref, 'not_found', '合思 does not know this attachment (id and key)', false);
      return;
    }
    try {
      jobs.push({
        index,
        ref,
        resolution,
        objectKey: objectKeyFor(ref, resolution, ctx.keyTemplate, ctx.jobId),
      });
    } catch (err) {
      results[index] = fromError(ref, err);
    }
  });

  const reResolve = async (ref: CopyRef): Promise<ResolvedAttachment> => {
    stats.reResolves += 1;
    const [again] = await deps.resolver.resolveDownloadUrls([{ id: ref.id, key: ref.key }], {
      expiration,
      signal,
    });
    if (again?.status !== 'resolved') {
      throw new CopyFailure('not_found', '合思 no longer knows this attachment (id and key)', false);
    }
    return again;
  };

  const copyOne = async (job: FileJob): Promise<CopyResult> => {
    const { ref, objectKey } = job;
    let resolution = job.resolution;
    const started = now();
    const name = originalFileName(ref, resolution);
    const put = {
      contentType: contentTypeFor(name, resolution.fileType),
      contentDisposition: contentDisposition(name),
      metadata: objectMetadata(ref),
    };

    let head: ObjectHead | undefined;
    try {
      head = await deps.sink.head(objectKey, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new CopyFailure(
        isAppError(err) ? err.code : 'head_failed',
        `cannot check the target object: ${safeMessage(err)}`,
        isAppError(err) ? err.retryable : true,
      );
    }
    // The size is known before any byte moves (DP: JSON, or the client's answer): skip without a GET.
    if (sameObject(head, resolution.fileSize, ref)) {
      return { status: 'skipped', id: ref.id, key: ref.key, objectKey, reason: 'exists' };
    }

    let reResolved = false;
    let attempt = 0;
    for (;;) {
      if (signal.aborted) throw new CopyFailure('deadline', DEADLINE_MESSAGE, true);
      if (!reResolved && now() > resolution.expiresAt - EXPIRY_MARGIN_MS) {
        reResolved = true;
        resolution = await reResolve(ref);
      }
      attempt += 1;
      try {
        await deps.checkUrl?.(resolution.url);
        const outcome = await getAndPut(resolution, head);
        if (outcome.kind === 'skipped') {
          return { status: 'skipped', id: ref.id, key: ref.key, objectKey, reason: 'exists' };
        }
        if (outcome.kind === 'expired') {
          if (reResolved) {
            throw new CopyFailure('download_http_403', 'download refused (403) even with a fresh URL', false);
          }
          reResolved = true;
          attempt -= 1;
          log.info('download refused (403): resolving the ref again', { id: ref.id, objectKey });
          resolution = await reResolve(ref);
          continue;
        }
        return {
          status: 'copied',
          id: ref.id,
          key: ref.key,
          objectKey,
          bytes: outcome.bytes,
          ms: Math.max(0, Math.round(now() - started)),
        };
      } catch (err) {
        if (signal.aborted) throw new CopyFailure('deadline', DEADLINE_MESSAGE, true);
        if (!(err instanceof TransientDownload) || attempt >= DOWNLOAD_MAX_ATTEMPTS) throw err;
        stats.downloadRetries += 1;
        log.warn('download failed; retrying', {
          id: ref.id,
          objectKey,
          attempt,
          code: err.code,
          error: err.message,
        });
        await abortableSleep(sleep, backoffDelay(attempt, backoff, random), signal).catch(() => undefined);
      }
    }

    async function getAndPut(
      res0: ResolvedAttachment,
      existing: ObjectHead | undefined,
    ): Promise<{ kind: 'copied'; bytes: number } | { kind: 'skipped' } | { kind: 'expired' }> {
      let res: DownloadResponse;
      try {
        res = await deps.downloader.get(res0.url, {
          ...(res0.headers ? { headers: res0.headers } : {}),
          signal,
        });
      } catch (err) {
        throw new TransientDownload('download_failed', `download failed: ${safeMessage(err)}`, true);
      }
      if (res.status === 403) {
        await discard(res);
        return { kind: 'expired' };
      }
      if (res.status < 200 || res.status > 299) {
        await discard(res);
        const code: ErrorCode = `download_http_${res.status}`;
        if (isTransientStatus(res.status))
          throw new TransientDownload(code, `download answered ${res.status}`, true);
        throw new CopyFailure(code, `download answered ${res.status}`, false);
      }
      if (sameObject(existing, res.contentLength, ref)) {
        await discard(res);
        return { kind: 'skipped' };
      }
      const counter = new CountingTransform(res.contentLength);
      let downloadError: unknown;
      const body: Readable = res.body;
      body.on('error', (err) => {
        downloadError ??= err;
        counter.destroy(err);
      });
      counter.on('error', (err) => {
        downloadError ??= err;
      });
      body.pipe(counter);
      try {
        await deps.sink.put(objectKey, counter, {
          ...(res.contentLength === undefined ? {} : { contentLength: res.contentLength }),
          ...put,
          signal,
        });
      } catch (err) {
        body.destroy();
        if (signal.aborted) throw new CopyFailure('deadline', DEADLINE_MESSAGE, true);
        if (downloadError !== undefined) {
          if (downloadError instanceof TransientDownload) throw downloadError;
          throw new TransientDownload(
            'download_failed',
            `download broke off: ${safeMessage(downloadError)}`,
            true,
          );
        }
        throw new CopyFailure(
          isAppError(err) ? err.code : 'upload_failed',
          `upload failed: ${safeMessage(err)}`,
          isAppError(err) ? err.retryable : true,
        );
      }
      return { kind: 'copied', bytes: counter.bytes };
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const job = jobs[next++];
      if (!job) return;
      if (signal.aborted) {
        results[job.index] = deadline(job.ref, job.objectKey);
        continue;
      }
      try {
        results[job.index] = await copyOne(job);
      } catch (err) {
        results[job.index] = signal.aborted
          ? deadline(job.ref, job.objectKey)
          : fromError(job.ref, err, job.objectKey);
      }
      const r = results[job.index] as CopyResult;
      if (r.status === 'failed')
        log.warn('copy failed', {
          id: r.id,
          objectKey: job.objectKey,
          code: r.code,
          retryable: r.retryable,
          error: r.message,
        });
      else log.debug(`copy ${r.status}`, { id: r.id, objectKey: job.objectKey });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));

  return results.map((r, i) => r ?? deadline(refs[i] as CopyRef));
}

/** The id and key of a malformed ref, as far as they can be read, for its failed result. */
function echoIds(ref: unknown): CopyRef {
  const o = ref !== null && typeof ref === 'object' ? (ref as Record<string, unknown>) : {};
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  return { id: text(o.id), key: text(o.key) };
}

function refProblem(ref: unknown): string | undefined {
  if (ref === null || typeof ref !== 'object') return 'ref must be an object with id and key';
  const { id, key } = ref as Record<string, unknown>;
  if (typeof id !== 'string' || id.trim() === '') return 'ref id must be a non-empty string';
  if (typeof key !== 'string' || key === '') return 'ref key must be a non-empty string';
  try {
    parseDpKey(key);
  } catch (err) {
    return `ref key: ${(err as Error).message}`;
  }
  return undefined;
}
