/**
 * Checks a stream of expected objects against the bucket, `concurrency` at a time, pulling the next item only when
 * a check finishes (memory: the items in flight, whatever the run's size). Each finding is handed on as it comes.
 */
import {
  addFinding,
  type ExpectedObject,
  type Finding,
  newVerifyTotals,
  type VerifyTotals,
} from '../model/verify.js';
import type { ArchiveReader } from '../ports.js';
import { checkObject } from './check-object.js';

export const DEFAULT_VERIFY_CONCURRENCY = 16;

export interface VerifyItemsOptions {
  concurrency?: number;
  deep: boolean;
  signal?: AbortSignal;
  onFinding?: (finding: Finding) => void;
  /** Bytes read so far (progress). */
  onBytes?: (n: number) => void;
}

export async function verifyItems(
  items: AsyncIterable<ExpectedObject> | Iterable<ExpectedObject>,
  reader: ArchiveReader,
  options: VerifyItemsOptions,
): Promise<VerifyTotals> {
  const totals = newVerifyTotals();
  const limit = Math.max(1, options.concurrency ?? DEFAULT_VERIFY_CONCURRENCY);
  const running = new Set<Promise<void>>();
  let failure: unknown;
  const onBytes = (n: number): void => {
    totals.bytesRead += n;
    options.onBytes?.(n);
  };
  for await (const item of items) {
    if (options.signal?.aborted || failure !== undefined) break;
    const check = checkObject(item, reader, {
      deep: options.deep,
      onBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const run = check
      .then((finding) => {
        addFinding(totals, finding);
        options.onFinding?.(finding);
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => running.delete(run));
    running.add(run);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  return totals;
}
