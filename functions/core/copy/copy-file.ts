/**
 * The last step of copying a batch: one planned file → one object. (Whether the key is free, holds this very file
 * or another one was settled before: claim-targets.ts.) In order:
 * 1. the write's condition: only where no object is (If-None-Match: *), or, for an opted-in overwrite, only over
 *    the object that was looked at (If-Match); a lost race → read what won and end skipped or target_occupied;
 * 2. the transfer: GET body → VerifyingTransform (core/integrity: length, SHA-256, the source's CRC-64 / MD5;
 *    verified-body.ts) → sink.put, streamed, never buffered whole; a body shorter or longer than its
 *    Content-Length, or whose bytes fail the source's checksum, fails the upload, so no such object is left; a copied
 *    file comes back with its proof record (FileRecord);
 * 3. the retries: 403 on the GET → the ref is resolved again once, by the endpoint of its kind (also when its URL
 *    is about to expire);
 *    5xx/408/429/transport errors/short bodies → another GET with backoff (3 tries in all); a body failing its
 *    source's checksum → one more GET, then `integrity_mismatch` (permanent); other 4xx → permanent.
 * When the signal aborts (the deadline nears), the file stops and comes back `deadline` (retryable).
 */
import type { Readable } from 'node:stream';
import { contentDisposition, contentTypeFor } from '../attachments/content-type.js';
import { originalFileName } from '../attachments/object-key.js';
import { ErrorCode, isAppError } from '../errors.js';
import { copiedRecord } from '../integrity/file-record.js';
import type { BodyProof } from '../integrity/verifying-transform.js';
import type { CopyResult } from '../model/copy-result.js';
import type { DownloadRef } from '../model/refs.js';
import type { ResolvedAttachment } from '../model/resolution.js';
import type {
  Downloader,
  DownloadResponse,
  DownloadUrlResolver,
  FormFilesSource,
  Logger,
  ObjectSink,
  PutObjectOptions,
  PutObjectResult,
} from '../ports.js';
import { abortableSleep, type BackoffPolicy, backoffDelay, type Sleep } from '../util/backoff.js';
import { settleConflict } from './claim-targets.js';
import { CopyFailure, deadlineFailure, safeMessage, TransientDownload } from './copy-failure.js';
import { objectMetadata } from './object-identity.js';
import { resolveRefs } from './ref-resolution.js';
import type { PlannedFile } from './resolve-batch.js';
import { checkedBody, giveUpOnChecksums, passOnDownloadError } from './verified-body.js';

/** GET tries per file, including the first (a 403 → re-resolve does not count). */
export const DOWNLOAD_MAX_ATTEMPTS = 3;
/** A URL this close to its expiresAt is resolved again before the GET rather than risking a 403 mid-body. */
const EXPIRY_MARGIN_MS = 30_000;

export interface CopyStats {
  /** Refs resolved a second time (403 on the GET, or a URL about to expire). */
  reResolves: number;
  /** GETs repeated after a transient failure. */
  downloadRetries: number;
}

/** What copying one file needs; built once per batch by copyBatch. */
export interface CopyFileEnv {
  resolver: DownloadUrlResolver;
  /** Signs flow and invoice refs (flowDetails/attachment, INVOICE/url). */
  formFiles?: FormFilesSource | undefined;
  sink: ObjectSink;
  downloader: Downloader;
  /** Called before every GET; may throw an AppError (e.g. a host not on the allow-list) to fail that ref. */
  checkUrl: ((url: string) => void | Promise<void>) | undefined;
  log: Logger;
  now: () => number;
  sleep: Sleep;
  random: () => number;
  backoff: BackoffPolicy;
  expiration: number;
  signal: AbortSignal;
  stats: CopyStats;
}

/** What the object is told about itself: fixed from the first resolution, whatever later re-resolves answer. */
type ObjectProps = Pick<
  PutObjectOptions,
  'contentType' | 'contentDisposition' | 'metadata' | 'condition' | 'bodyIn'
>;

type Transfer =
  | { kind: 'copied'; bytes: number; proof: BodyProof; stored: PutObjectResult }
  | { kind: 'expired' };

/**
 * Copies one file; a lost conditional write is settled by what won. `bodyIn` is called once the whole body is in
 * and checked, before its upload (transfer-slots.ts).
 */
export async function copyFile(
  file: PlannedFile,
  env: CopyFileEnv,
  bodyIn?: (bytes: number) => void,
): Promise<CopyResult> {
  try {
    return await copyOnce(file, env, bodyIn);
  } catch (err) {
    if (!isAppError(err) || err.code !== ErrorCode.WriteConflict || env.signal.aborted) throw err;
    env.log.info('the target key was written by someone else meanwhile; reading what is there', {
      id: file.ref.id,
      objectKey: file.objectKey,
    });
    return settleConflict(file, env.sink, env.signal);
  }
}

/** Copies one file; throws CopyFailure (or the cause) for anything that ends it failed. */
async function copyOnce(
  file: PlannedFile,
  env: CopyFileEnv,
  bodyIn?: (bytes: number) => void,
): Promise<CopyResult> {
  const { ref, objectKey } = file;
  const { signal } = env;
  let resolution = file.resolution;
  const started = env.now();
  const name = originalFileName(ref, resolution);
  const put: ObjectProps = {
    contentType: contentTypeFor(name, resolution.fileType),
    contentDisposition: contentDisposition(name),
    metadata: objectMetadata(ref),
    condition: file.replaces?.etag ? { ifMatch: file.replaces.etag } : { ifNoneMatch: true },
    ...(bodyIn ? { bodyIn } : {}),
  };

  let reResolved = false;
  let attempt = 0;
  let checksumFailures = 0;
  for (;;) {
    if (signal.aborted) throw deadlineFailure();
    if (!reResolved && env.now() > resolution.expiresAt - EXPIRY_MARGIN_MS) {
      reResolved = true;
      resolution = await reResolve(ref, env);
    }
    attempt += 1;
    try {
      await env.checkUrl?.(resolution.url);
      const outcome = await transfer(file, resolution, put, env);
      if (outcome.kind === 'copied') {
        const { bytes, proof, stored } = outcome;
        const now = env.now();
        const record = copiedRecord({ ref, objectKey, proof, stored, now });
        const ms = Math.max(0, Math.round(now - started));
        return { status: 'copied', id: ref.id, key: ref.key, objectKey, bytes, ms, record };
      }
      if (reResolved) {
        throw new CopyFailure('download_http_403', 'download refused (403) even with a fresh URL', false);
      }
      reResolved = true;
      attempt -= 1;
      env.log.info('download refused (403): resolving the ref again', { id: ref.id, objectKey });
      resolution = await reResolve(ref, env);
    } catch (err) {
      if (signal.aborted) throw deadlineFailure();
      if (!(err instanceof TransientDownload) || attempt >= DOWNLOAD_MAX_ATTEMPTS) throw err;
      // A body that failed its source's checksum is downloaded once more, not twice.
      checksumFailures = giveUpOnChecksums(err, checksumFailures);
      env.stats.downloadRetries += 1;
      env.log.warn('download failed; retrying', {
        id: ref.id,
        objectKey,
        attempt,
        code: err.code,
        error: err.message,
      });
      await abortableSleep(env.sleep, backoffDelay(attempt, env.backoff, env.random), signal).catch(
        () => undefined,
      );
    }
  }
}

async function reResolve(ref: DownloadRef, env: CopyFileEnv): Promise<ResolvedAttachment> {
  env.stats.reResolves += 1;
  const [again] = await resolveRefs(
    [ref],
    { files: env.resolver, formFiles: env.formFiles },
    { expiration: env.expiration, signal: env.signal, now: env.now },
  );
  if (again?.status !== 'resolved') {
    throw new CopyFailure(
      again?.code ?? ErrorCode.NotFound,
      again?.message ?? '合思 no longer knows this attachment (id and key)',
      false,
    );
  }
  return again;
}

function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

async function discard(res: DownloadResponse): Promise<void> {
  if (res.dump) await res.dump();
  else res.body.destroy();
}

/** One GET streamed into the sink. */
async function transfer(
  file: PlannedFile,
  resolution: ResolvedAttachment,
  put: ObjectProps,
  env: CopyFileEnv,
): Promise<Transfer> {
  const { objectKey } = file;
  const { signal } = env;
  let res: DownloadResponse;
  try {
    res = await env.downloader.get(resolution.url, {
      ...(resolution.headers ? { headers: resolution.headers } : {}),
      signal,
    });
  } catch (err) {
    throw new TransientDownload(ErrorCode.DownloadFailed, `download failed: ${safeMessage(err)}`, true);
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
  const { verifier, metadata } = await checkedBody(res, () => discard(res));
  let downloadError: unknown;
  const body: Readable = res.body;
  body.on('error', (err) => {
    downloadError ??= err;
    verifier.destroy(err);
  });
  verifier.on('error', (err) => {
    downloadError ??= err;
  });
  body.pipe(verifier);
  let stored: PutObjectResult;
  try {
    stored = await env.sink.put(objectKey, verifier, {
      ...(res.contentLength === undefined ? {} : { contentLength: res.contentLength }),
      ...put,
      metadata: { ...put.metadata, ...metadata },
      sha256: () => verifier.proof?.sha256,
      signal,
    });
  } catch (err) {
    body.destroy();
    if (signal.aborted) throw deadlineFailure();
    if (downloadError !== undefined) passOnDownloadError(downloadError);
    if (isAppError(err) && err.code === ErrorCode.WriteConflict) throw err;
    throw new CopyFailure(
      isAppError(err) ? err.code : ErrorCode.UploadFailed,
      `upload failed: ${safeMessage(err)}`,
      isAppError(err) ? err.retryable : true,
    );
  }
  // A sink that resolved has read the body to its end, so the checks passed (the last chunk waited for them).
  const proof: BodyProof | undefined = verifier.proof;
  if (proof === undefined) {
    throw new CopyFailure(ErrorCode.UploadFailed, 'the store finished before the body had ended', true);
  }
  return { kind: 'copied', bytes: verifier.bytes, proof, stored };
}
