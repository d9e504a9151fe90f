/**
 * The second step of copying a batch, still before any 合思 call: what is already at each target key decides the
 * ref. The very same file (object-identity.ts) → `skipped`, so a re-run of an archived job resolves nothing and
 * downloads nothing. Another file, or an object without identity → `target_occupied` saying what occupies it,
 * unless the job opted in to overwrite (then the write names that object's entity tag, If-Match). A free key is
 * written only if it is still free (If-None-Match: *), so two jobs racing for one key never overwrite each other
 * silently: the loser reads what won (settleConflict) and ends skipped or occupied.
 */
import { ErrorCode, isAppError } from '../errors.js';
import { recordFromHead } from '../integrity/file-record.js';
import type { CopyResult } from '../model/copy-result.js';
import type { CopyRef } from '../model/refs.js';
import type { Logger, ObjectHead, ObjectSink } from '../ports.js';
import { failed, safeMessage, stoppedResult } from './copy-failure.js';
import { describeOccupant, matchIdentity, occupantOf } from './object-identity.js';
import type { Target } from './plan-targets.js';
import { isProbeError, type Probed, probeTargets } from './target-probe.js';

/** A target the batch will copy. */
export interface ClaimedTarget extends Target {
  /** The object an opted-in overwrite replaces (If-Match its etag); absent when the key was free (If-None-Match). */
  replaces?: ObjectHead;
}

export interface ClaimOptions {
  sink: ObjectSink;
  signal: AbortSignal;
  /** `overwrite`: replace objects of other identity instead of failing them. */
  onConflict?: 'overwrite';
  /** HEADs in flight at once. */
  concurrency: number;
  log?: Logger;
}

/** The very same file is there: skipped, with its proof record rebuilt from the HEAD when the object carries one. */
export function skippedResult(ref: CopyRef, objectKey: string, head?: ObjectHead): CopyResult {
  const record = head === undefined ? undefined : recordFromHead(head, ref, objectKey, Date.now());
  return {
    status: 'skipped',
    id: ref.id,
    key: ref.key,
    objectKey,
    reason: 'exists',
    ...(record === undefined ? {} : { record }),
  };
}

function occupiedResult(ref: CopyRef, objectKey: string, head: ObjectHead): CopyResult {
  const occupant = occupantOf(head);
  return {
    ...failed(
      ref,
      ErrorCode.TargetOccupied,
      `object key "${objectKey}" holds ${describeOccupant(occupant)}; not overwritten (a job with onConflict "overwrite" replaces it)`,
      false,
      objectKey,
    ),
    occupant,
  };
}

/** What to do with one target, given what is at its key: a result, or the target to copy. */
export function decide(
  target: Target,
  head: ObjectHead | undefined,
  onConflict: 'overwrite' | undefined,
): CopyResult | ClaimedTarget {
  if (head === undefined) return target;
  const { ref, objectKey } = target;
  if (matchIdentity(head, ref) !== 'other') return skippedResult(ref, objectKey, head);
  if (onConflict === 'overwrite' && head.etag !== undefined) return { ...target, replaces: head };
  return occupiedResult(ref, objectKey, head);
}

function probeFailure(target: Target, error: unknown): CopyResult {
  return failed(
    target.ref,
    isAppError(error) ? error.code : ErrorCode.HeadFailed,
    `cannot check the target object: ${safeMessage(error)}`,
    isAppError(error) ? error.retryable : true,
    target.objectKey,
  );
}

export async function claimTargets(
  targets: readonly Target[],
  options: ClaimOptions,
): Promise<{ results: Map<number, CopyResult>; claimed: ClaimedTarget[] }> {
  const results = new Map<number, CopyResult>();
  const claimed: ClaimedTarget[] = [];
  if (targets.length === 0) return { results, claimed };
  let probed = new Map<string, Probed>();
  let probeError: { error: unknown } | undefined;
  if (!options.signal.aborted) {
    try {
      probed = await probeTargets(
        targets.map((t) => t.objectKey),
        options.sink,
        options,
      );
    } catch (error) {
      probeError = { error };
    }
  }
  for (const target of targets) {
    const p = probeError ?? probed.get(target.objectKey);
    if (options.signal.aborted) {
      results.set(target.index, stoppedResult(target.ref, options.signal.reason, target.objectKey));
    } else if (isProbeError(p)) {
      results.set(target.index, probeFailure(target, p.error));
    } else {
      const outcome = decide(target, p, options.onConflict);
      if ('status' in outcome) results.set(target.index, outcome);
      else claimed.push(outcome);
    }
  }
  return { results, claimed };
}

/**
 * A conditional write lost (412, or 409 while another write was in progress): read what is at the key now. The
 * same file → skipped; another → target_occupied (an overwrite replaces only what it looked at, never what came
 * after); nothing (it went away again) → retryable, the next attempt starts over.
 */
export async function settleConflict(
  target: Target,
  sink: ObjectSink,
  signal: AbortSignal,
): Promise<CopyResult> {
  let head: ObjectHead | undefined;
  try {
    head = await sink.head(target.objectKey, signal);
  } catch (err) {
    return probeFailure(target, err);
  }
  if (head === undefined) {
    return failed(
      target.ref,
      ErrorCode.WriteConflict,
      `object key "${target.objectKey}" changed while this file was written; will be retried`,
      true,
      target.objectKey,
    );
  }
  const outcome = decide(target, head, undefined);
  return 'status' in outcome ? outcome : failed(target.ref, ErrorCode.WriteConflict, 'unsettled', true);
}
