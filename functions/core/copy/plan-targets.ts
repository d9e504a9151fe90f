/**
 * The first step of copying a batch, before anything leaves the process: each ref checked on its own (a broken ref
 * fails alone), given its object key (template or targetKey) and held to the bucket's lanes (attachments/lanes.ts),
 * and — a safety net behind job creation, which sees the whole job — no two different files of the batch on one
 * key: the first keeps it, the others fail `target_key_conflict` naming the ref that holds it.
 */
import { targetKeyFor } from '../attachments/job-targets.js';
import type { Lanes } from '../attachments/lanes.js';
import { parseDpKey, refIdentity } from '../attachments/ref.js';
import { ErrorCode } from '../errors.js';
import type { CopyResult } from '../model/copy-result.js';
import { type CopyRef, FLOW_FILE_ROLES } from '../model/refs.js';
import { failed, fromError } from './copy-failure.js';

/** A ref of the batch and the object key it is allowed to write. */
export interface Target {
  /** Position in the batch: results come back in input order. */
  index: number;
  ref: CopyRef;
  objectKey: string;
}

export interface PlannedTargets {
  /** Refs that already have their result (bad ref, key refused, key taken), by position. */
  results: Array<CopyResult | undefined>;
  targets: Target[];
}

export function planTargets(
  refs: readonly CopyRef[],
  input: { jobId: string; keyTemplate: string; lanes: Lanes },
): PlannedTargets {
  const results: Array<CopyResult | undefined> = new Array(refs.length);
  const targets: Target[] = [];
  const holders = new Map<string, CopyRef>();
  refs.forEach((ref, index) => {
    const problem = refProblem(ref);
    if (problem) {
      results[index] = failed(echoIds(ref), ErrorCode.InvalidRef, problem, false);
      return;
    }
    let target: ReturnType<typeof targetKeyFor>;
    try {
      target = targetKeyFor(ref, input.keyTemplate, input.jobId, input.lanes);
    } catch (err) {
      // A queue message is not validated field by field: a targetKey that is not even a string lands here.
      results[index] = fromError(ref, err);
      return;
    }
    if ('refusal' in target) {
      results[index] = failed(ref, target.refusal.code, target.refusal.message, false);
      return;
    }
    const holder = holders.get(target.objectKey);
    if (holder && refIdentity(holder) !== refIdentity(ref)) {
      const message = `object key "${target.objectKey}" is already taken in this batch by ref id "${holder.id}", a different file`;
      results[index] = failed(ref, ErrorCode.TargetKeyConflict, message, false, target.objectKey);
      return;
    }
    holders.set(target.objectKey, ref);
    targets.push({ index, ref, objectKey: target.objectKey });
  });
  return { results, targets };
}

/** The id and key of a malformed ref, as far as they can be read, for its failed result. */
function echoIds(ref: unknown): CopyRef {
  const o = ref !== null && typeof ref === 'object' ? (ref as Record<string, unknown>) : {};
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  return { id: text(o.id), key: text(o.key) };
}

function refProblem(ref: unknown): string | undefined {
  if (ref === null || typeof ref !== 'object') return 'ref must be an object with id and key';
  const { id, key, targetKey, kind, role } = ref as Record<string, unknown>;
  if (typeof id !== 'string' || id.trim() === '') return 'ref id must be a non-empty string';
  if (typeof key !== 'string' || key === '') return 'ref key must be a non-empty string';
  if (targetKey !== undefined && typeof targetKey !== 'string') return 'ref targetKey must be a string';
  if (kind === 'flow') {
    return FLOW_FILE_ROLES.includes(role as never)
      ? undefined
      : `flow ref role must be one of ${FLOW_FILE_ROLES}`;
  }
  if (kind === 'invoice') return undefined;
  if (kind === 'package') return 'package parts are written by the package runner, not downloaded';
  if (kind !== undefined && kind !== 'file') return `unknown ref kind ${JSON.stringify(kind)}`;
  try {
    parseDpKey(key);
  } catch (err) {
    return `ref key: ${(err as Error).message}`;
  }
  return undefined;
}
