/**
 * Where each ref of a job goes, checked where the whole job is visible (job creation streams every item past this)
 * and again per batch by the copy worker: the object key (template or targetKey) must lie in an archive lane, and
 * no two different files (id + key) of one job may share an object key — the first keeps it, the others are
 * refused with `target_key_conflict` naming the line that holds it.
 *
 * Memory: per distinct object key, the key itself (or a 16-byte digest of a long one) and the holder's line, id and a
 * hash of its 合思 key, so a 200,000-line manifest costs tens of megabytes, not the manifest (measured in
 * `npm run bench`, section 7).
 */
import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '../errors.js';
import type { CopyRef } from '../model/refs.js';
import { type LaneRefusal, type Lanes, laneProblem } from './lanes.js';
import { objectKeyFor } from './object-key.js';

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

/** Keys up to this many characters are held as they are; longer ones by a digest, so memory stays bounded. */
const MAX_HELD_KEY_CHARS = 64;

/**
 * How a key is held: itself, or for a long one `\0` + 16 bytes of its SHA-256 (a key never holds a control
 * character, so the two forms never meet).
 */
function heldKey(objectKey: string): string {
  if (objectKey.length <= MAX_HELD_KEY_CHARS) return objectKey;
  return `\u0000${createHash('sha256').update(objectKey).digest().toString('latin1', 0, 16)}`;
}

/** FNV-1a (32 bits) of the 合思 key: with the id, enough to tell the same file from another on one object key. */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The ref holding an object key: its line, id (first 64 characters) and key hash. */
interface Holder {
  line: number;
  id: string;
  keyHash: number;
}

/** The target check of one job: stateful, so each object key is handed out once. */
export class JobTargets {
  readonly #taken = new Map<string, Holder>();

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
    const held = heldKey(target.objectKey);
    const holder = this.#taken.get(held);
    const id = ref.id.slice(0, 64);
    const hash = keyHash(ref.key);
    if (holder === undefined) {
      this.#taken.set(held, { line, id, keyHash: hash });
      return target;
    }
    if (holder.id === id && holder.keyHash === hash) return { duplicate: true };
    return {
      refusal: {
        code: ErrorCode.TargetKeyConflict,
        message: `object key "${target.objectKey}" is already taken in this job by line ${holder.line} (id "${holder.id}"), a different file`,
      },
    };
  }
}
