/**
 * Where each ref of a job goes, checked where the whole job is visible (job creation streams every item past this)
 * and again per batch by the copy worker: the object key (template or targetKey) must lie in an archive lane, and
 * no two different files (id + key) of one job may share an object key — the first keeps it, the others are
 * refused with `target_key_conflict` naming the line that holds it.
 *
 * Memory: one short digest per distinct object key plus the holder's line and id (≈ 120 bytes an entry; measured in
 * `npm run bench`, section 7), so a 200,000-line manifest costs tens of megabytes, not the manifest.
 */
import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '../errors.js';
import type { CopyRef } from '../model/refs.js';
import { type LaneRefusal, type Lanes, laneProblem } from './lanes.js';
import { objectKeyFor } from './object-key.js';
import { refIdentity } from './ref.js';

/**
 * A ref's object key, or why it may not have one. The key is computed from the ref alone (its fileName, targetKey,
 * vars and 合思 key): the name a resolver would report comes from the same key, so the key known at job creation
 * is the key the copy worker writes.
 */
export function targetKeyFor(
  ref: CopyRef,
  template: string,
  jobId: string,
  lanes: Lanes,
): { objectKey: string } | { refusal: LaneRefusal } {
  let objectKey: string;
  try {
    objectKey = objectKeyFor(ref, undefined, template, jobId);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { refusal: { code: err.code, message: err.message } };
  }
  const refusal = laneProblem(objectKey, lanes);
  if (!refusal) return { objectKey };
  const field = ref.targetKey === undefined ? 'the key template makes' : '"targetKey" is';
  return { refusal: { code: refusal.code, message: `${field} ${refusal.message}` } };
}

export type TargetCheck =
  | { objectKey: string }
  /** Refused: a bad item of the job, with its rule. */
  | { refusal: LaneRefusal }
  /** The same file (id + key) already goes to this object key: nothing more to do for it. */
  | { duplicate: true };

const digest = (text: string): string => createHash('sha256').update(text).digest('base64').slice(0, 22);

/** The target check of one job: stateful, so each object key is handed out once. */
export class JobTargets {
  /** digest(object key) → `digest(id, key)` space `line` space `id` of the ref holding it. */
  readonly #taken = new Map<string, string>();

  constructor(
    private readonly lanes: Lanes,
    private readonly template: string,
    private readonly jobId: string,
  ) {}

  /** How many object keys are held (for the bench's memory figure). */
  get size(): number {
    return this.#taken.size;
  }

  check(ref: CopyRef, line: number): TargetCheck {
    const target = targetKeyFor(ref, this.template, this.jobId, this.lanes);
    if ('refusal' in target) return target;
    const keyDigest = digest(target.objectKey);
    const file = digest(refIdentity(ref));
    const holder = this.#taken.get(keyDigest);
    if (holder === undefined) {
      this.#taken.set(keyDigest, `${file} ${line} ${ref.id.slice(0, 64)}`);
      return target;
    }
    const lineEnd = holder.indexOf(' ', file.length + 1);
    if (holder.slice(0, file.length) === file) return { duplicate: true };
    const heldLine = holder.slice(file.length + 1, lineEnd);
    const heldId = holder.slice(lineEnd + 1);
    return {
      refusal: {
        code: ErrorCode.TargetKeyConflict,
        message: `object key "${target.objectKey}" is already taken in this job by line ${heldLine} (id "${heldId}"), a different file`,
      },
    };
  }
}
