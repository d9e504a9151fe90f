/**
 * The third step of copying a batch: the refs still to copy (planned and claimed: their keys allowed, free or to be
 * overwritten) resolved right before downloading, one call per endpoint (ref-resolution.ts: downloadurls, whose
 * URLs live ≤1800 s and DP: header signatures ~15 min; the one-hour links of flowDetails/attachment and
 * INVOICE/url). A ref 合思 does not know fails alone. The copy engine runs the planned files; the CLI's dry run
 * prints them.
 */
import { AppError, ErrorCode } from '../errors.js';
import type { CopyResult } from '../model/copy-result.js';
import type { DownloadRef } from '../model/refs.js';
import type { Resolution, ResolvedAttachment } from '../model/resolution.js';
import type { DownloadUrlResolver, FormFilesSource } from '../ports.js';
import type { ClaimedTarget } from './claim-targets.js';
import { failed, fromError, stoppedResult } from './copy-failure.js';
import { resolveRefs } from './ref-resolution.js';

/** A ref 合思 answered for, and where its bytes go. */
export interface PlannedFile extends ClaimedTarget {
  ref: DownloadRef;
  resolution: ResolvedAttachment;
}

export interface ResolveBatchInput {
  /** Seconds the resolved URLs stay valid (1..1800). */
  expiration: number;
  signal: AbortSignal;
  /** Epoch ms (the one-hour links' expiry). Default Date.now. */
  now?: () => number;
}

export interface ResolvedBatch {
  /** Targets that already have their result (not found, resolve failed), by batch position. */
  results: Map<number, CopyResult>;
  planned: PlannedFile[];
}

export async function resolveBatch(
  targets: readonly ClaimedTarget[],
  input: ResolveBatchInput,
  resolver: DownloadUrlResolver,
  formFiles?: FormFilesSource,
): Promise<ResolvedBatch> {
  const results = new Map<number, CopyResult>();
  if (targets.length === 0) return { results, planned: [] };
  if (input.signal.aborted) {
    for (const t of targets) results.set(t.index, stoppedResult(t.ref, input.signal.reason, t.objectKey));
    return { results, planned: [] };
  }

  let resolutions: Resolution[];
  try {
    // Package parts never get here: plan-targets refuses them (the package runner writes them).
    resolutions = await resolveRefs(
      targets.map((t) => t.ref as DownloadRef),
      { files: resolver, formFiles },
      { expiration: input.expiration, signal: input.signal, now: input.now ?? Date.now },
    );
    if (resolutions.length !== targets.length) {
      throw new AppError(ErrorCode.BadUpstreamResponse, 'resolver answered a different number of refs', {
        retryable: true,
      });
    }
  } catch (err) {
    for (const t of targets) {
      results.set(
        t.index,
        input.signal.aborted ? stoppedResult(t.ref, input.signal.reason) : fromError(t.ref, err),
      );
    }
    return { results, planned: [] };
  }

  const planned: PlannedFile[] = [];
  resolutions.forEach((resolution, i) => {
    const target = targets[i] as ClaimedTarget;
    if (resolution.status === 'not_found') {
      results.set(
        target.index,
        failed(
          target.ref,
          resolution.code ?? ErrorCode.NotFound,
          resolution.message ?? '合思 does not know this attachment (id and key)',
          false,
        ),
      );
      return;
    }
    planned.push({ ...target, ref: target.ref as DownloadRef, resolution });
  });
  return { results, planned };
}
