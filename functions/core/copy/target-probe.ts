/**
 * Which of a batch's object keys already hold an object, and what it says about itself, for as few S3 requests as
 * possible: a first copy should not pay a HEAD that is bound to answer 404, and a re-run should not pay more than
 * about one request per file.
 *
 * One ListObjectsV2 (≤ 1,000 keys) over the batch's key range — the keys' common prefix, starting just before the
 * smallest key — shows every key of the batch that exists, when the answer is not truncated. Only those get a HEAD
 * (their metadata tells whose file they are). When the answer is truncated (a busy bucket between the batch's first
 * and last key), the keys it did not reach are HEADed one by one, as they would be without a listing. So:
 * first copy ≈ 1 LIST per batch; re-run ≈ 1 LIST + 1 HEAD per file; at worst 1 LIST + 1 HEAD per file.
 */
import pLimit from 'p-limit';
import type { Logger, ObjectHead, ObjectSink } from '../ports.js';

/** ListObjectsV2 answers at most 1,000 keys a call. */
export const PROBE_MAX_KEYS = 1_000;

/** Per key: the object there, `undefined` when there is none, or the error that kept us from knowing. */
export type Probed = ObjectHead | undefined | { error: unknown };

export interface ProbeOptions {
  signal: AbortSignal;
  /** HEADs in flight at once. */
  concurrency: number;
  log?: Logger;
}

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The longest common prefix, whole code points only (so it is also a prefix of both keys' UTF-8 bytes). */
function commonPrefix(a: string, b: string): string {
  const x = [...a];
  const y = [...b];
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n += 1;
  return x.slice(0, n).join('');
}

/** A string just below `key`: the key without its last code point (S3 lists keys strictly after StartAfter). */
function justBefore(key: string): string {
  const cps = [...key];
  return cps.slice(0, -1).join('');
}

/**
 * The keys the listing proves absent. Undefined when no listing was made or it failed (every key is then HEADed).
 * A truncated answer proves nothing about the keys it did not list.
 */
async function listedAbsent(
  keys: readonly string[],
  sink: ObjectSink,
  options: ProbeOptions,
): Promise<Set<string> | undefined> {
  if (!sink.listKeys || keys.length < 2) return undefined;
  const sorted = [...keys].sort(utf8Order);
  const min = sorted[0] as string;
  const max = sorted[sorted.length - 1] as string;
  const prefix = commonPrefix(min, max);
  const startAfter = justBefore(min);
  try {
    const listing = await sink.listKeys(
      { prefix, ...(startAfter.length > 0 ? { startAfter } : {}), maxKeys: PROBE_MAX_KEYS },
      options.signal,
    );
    if (listing.truncated) return new Set();
    const present = new Set(listing.keys);
    return new Set(keys.filter((k) => !present.has(k)));
  } catch (err) {
    if (options.signal.aborted) throw err;
    options.log?.warn('listing the batch keys failed; checking each key instead', { prefix, error: err });
    return undefined;
  }
}

export async function probeTargets(
  keys: readonly string[],
  sink: ObjectSink,
  options: ProbeOptions,
): Promise<Map<string, Probed>> {
  const unique = [...new Set(keys)];
  const out = new Map<string, Probed>();
  const absent = (await listedAbsent(unique, sink, options)) ?? new Set<string>();
  for (const key of absent) out.set(key, undefined);
  const limit = pLimit(Math.max(1, options.concurrency));
  await limit.map(
    unique.filter((k) => !absent.has(k)),
    async (key) => {
      try {
        out.set(key, await sink.head(key, options.signal));
      } catch (err) {
        out.set(key, { error: err });
      }
    },
  );
  return out;
}

export function isProbeError(p: Probed): p is { error: unknown } {
  return p !== undefined && 'error' in p;
}
