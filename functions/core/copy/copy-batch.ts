/**
 * The copy engine: one batch of ≤100 refs → objects in the bucket. Every ref ends in exactly one result (copied,
 * skipped, failed with a code), in input order; nothing is lost silently, and nothing the job does not own is
 * written.
 *
 * Four steps: plan (plan-targets.ts: each ref's object key, held to the bucket's lanes, one file per key), claim
 * (claim-targets.ts: what already sits at each key — the same file is skipped before any 合思 call, another one is
 * refused or, opted in, overwritten), resolve what is left (resolve-batch.ts: one downloadurls call right before
 * downloading), then copy each planned file (copy-file.ts), a few at once, with a conditional write. When
 * `ctx.signal` aborts (the Lambda deadline nears) no new file starts, in-flight GETs and uploads are aborted, and
 * every unfinished ref comes back `deadline` (retryable), so the queue hands it out again; `cancelled` instead when
 * the signal's reason is a CancelledError (the CLI's Ctrl-C).
 */
import { fallbackLanes, type Lanes } from '../attachments/lanes.js';
import { DEFAULT_OBJECT_KEY_TEMPLATE } from '../attachments/object-key.js';
import type { CopyResult } from '../model/copy-result.js';
import type { CopyRef } from '../model/refs.js';
import { DEFAULT_EXPIRATION_SECONDS } from '../model/resolution.js';
import type { Downloader, DownloadUrlResolver, FormFilesSource, Logger, ObjectSink } from '../ports.js';
import { type BackoffPolicy, defaultSleep, type Sleep } from '../util/backoff.js';
import { claimTargets } from './claim-targets.js';
import { fromError, stoppedResult } from './copy-failure.js';
import { type CopyFileEnv, type CopyStats, copyFile } from './copy-file.js';
import { planTargets } from './plan-targets.js';
import { type PlannedFile, resolveBatch } from './resolve-batch.js';
import { type TransferSlots, transferSlots } from './transfer-slots.js';

export type { CopyStats } from './copy-file.js';

export const DEFAULT_COPY_CONCURRENCY = 8;
// 500 ms doubling to 4 s with full jitter: two waits, ~1.5 s on average, small next to a Lambda's 15 min.
export const DOWNLOAD_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 4_000, maxRetryAfterMs: 4_000 };

export interface CopyContext {
  jobId: string;
  /** Object key template; default attachments/{fileId}/{fileName}. */
  keyTemplate?: string;
  /** Files downloading at once (each file's upload overlaps the next one's download: transfer-slots.ts). Default 8. */
  concurrency?: number;
  /**
   * Slots shared by several batches at once (the CLI runs the next batch while this one's last files finish);
   * replace `concurrency` when given.
   */
  slots?: TransferSlots;
  /** Fires before the Lambda deadline: stop starting files, abort in-flight ones. */
  signal?: AbortSignal;
  /** Seconds the resolved URLs stay valid (1..1800). Default 1800. */
  expiration?: number;
  /** Counters this run adds to (metrics). */
  stats?: CopyStats;
  /** The bucket's lanes (config); default: the template's root plus attachments/ and forms/. */
  lanes?: Lanes;
  /** `overwrite`: replace objects of other identity at the target keys (else they fail target_occupied). */
  onConflict?: 'overwrite';
}

export interface CopyDeps {
  resolver: DownloadUrlResolver;
  /** Signs flow and invoice refs (flowDetails/attachment, INVOICE/url): form packages need it. */
  formFiles?: FormFilesSource;
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

export async function copyBatch(
  refs: readonly CopyRef[],
  ctx: CopyContext,
  deps: CopyDeps,
): Promise<CopyResult[]> {
  const signal = ctx.signal ?? new AbortController().signal;
  const expiration = ctx.expiration ?? DEFAULT_EXPIRATION_SECONDS;
  const concurrency = Math.max(1, Math.floor(ctx.concurrency ?? DEFAULT_COPY_CONCURRENCY));
  const keyTemplate = ctx.keyTemplate ?? DEFAULT_OBJECT_KEY_TEMPLATE;
  const log = deps.logger.child({ jobId: ctx.jobId });
  const lanes = ctx.lanes ?? fallbackLanes(keyTemplate);
  const { results, targets } = planTargets(refs, { jobId: ctx.jobId, keyTemplate, lanes });
  const claim = await claimTargets(targets, {
    sink: deps.sink,
    signal,
    concurrency,
    log,
    ...(ctx.onConflict ? { onConflict: ctx.onConflict } : {}),
  });
  const resolved = await resolveBatch(
    claim.claimed,
    { expiration, signal, now: deps.now ?? Date.now },
    deps.resolver,
    deps.formFiles,
  );
  for (const [index, result] of [...claim.results, ...resolved.results]) results[index] = result;
  const env: CopyFileEnv = {
    resolver: deps.resolver,
    formFiles: deps.formFiles,
    sink: deps.sink,
    downloader: deps.downloader,
    checkUrl: deps.checkUrl,
    log,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? defaultSleep,
    random: deps.random ?? Math.random,
    backoff: { ...DOWNLOAD_BACKOFF, ...deps.backoff },
    expiration,
    signal,
    stats: ctx.stats ?? newCopyStats(),
  };
  const slots = ctx.slots ?? transferSlots(concurrency);
  await Promise.all(
    resolved.planned.map((file) =>
      slots.run(async (bodyIn) => {
        results[file.index] = await copyOrFail(file, env, bodyIn);
      }),
    ),
  );
  return results.map((r, i) => r ?? stoppedResult(refs[i] as CopyRef, signal.reason));
}

/** One file's result, whatever happens; logged as it ends. */
async function copyOrFail(
  file: PlannedFile,
  env: CopyFileEnv,
  bodyIn: (bytes: number) => void,
): Promise<CopyResult> {
  if (env.signal.aborted) return stoppedResult(file.ref, env.signal.reason, file.objectKey);
  let result: CopyResult;
  try {
    result = await copyFile(file, env, bodyIn);
  } catch (err) {
    result = env.signal.aborted
      ? stoppedResult(file.ref, env.signal.reason, file.objectKey)
      : fromError(file.ref, err, file.objectKey);
  }
  if (result.status === 'failed') {
    env.log.warn('copy failed', {
      id: result.id,
      objectKey: file.objectKey,
      code: result.code,
      retryable: result.retryable,
      error: result.message,
    });
  } else env.log.debug(`copy ${result.status}`, { id: result.id, objectKey: file.objectKey });
  return result;
}
