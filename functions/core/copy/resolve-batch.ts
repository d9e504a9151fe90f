/**
 * The third step of copying a batch: the refs still to copy (planned and claimed: their keys allowed, free or to be
 * overwritten) resolved in ONE downloadurls call right before downloading (URLs live ≤1800 s; DP: header
 * signatures ~15 min). A ref 合思 does not know fails alone. The copy engine runs the planned files; the CLI's dry
 * run prints them.
 */
import { AppError, ErrorCode } from '../errors.js';
import type { CopyResult } from '../model/copy-result.js';
import type { Resolution, ResolvedAttachment } from '../model/resolution.js';
import type { DownloadUrlResolver } from '../ports.js';
import type { ClaimedTarget } from './claim-targets.js';
import { failed, fromError, stoppedResult } from './copy-failure.js';

/** A ref 合思 answered for, and where its bytes go. */
export interface PlannedFile extends ClaimedTarget {
  resolution: ResolvedAttachment;
}

export interface ResolveBatchInput {
  /** Seconds the resolved URLs stay valid (1..1800). */
  expiration: number;
  signal: AbortSignal;
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
): Promise<ResolvedBatch> {
  const results = new Map<number, CopyResult>();
  if (targets.length === 0) return { results, planned: [] };
  if (input.signal.aborted) {
    for (const t of targets) results.set(t.index, stoppedResult(t.ref, input.signal.reason, t.objectKey));
    return { results, planned: [] };
  }

  let resolutions: Resolution[];
  try {
    resolutions = await resolver.resolveDownloadUrls(
      targets.map((t) => ({ id: t.ref.id, key: t.ref.key })),
      { expiration: input.expiration, signal: input.signal },
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
        failed(target.ref, ErrorCode.NotFound, '合思 does not know this attachment (id and key)', false),
      );
      return;
    }
    planned.push({ ...target, resolution });
  });
  return { results, planned };
}
