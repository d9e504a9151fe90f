/**
 * Window arithmetic for the sync: where the next window starts and ends, and which handled forms the next
 * window will see again. Pure functions of epoch-ms numbers, so they are tested without clocks.
 */
import { floorToSecond } from './china-time.js';

export const DEFAULT_WINDOW_MS = 24 * 60 * 60_000;
/** A window never shrinks below this: a minute of a tenant's changes always fits in one invocation. */
export const MIN_WINDOW_MS = 60_000;

export interface SyncWindow {
  /** First instant listed (inclusive), whole seconds: the vendor's dates carry no milliseconds. */
  startMs: number;
  /** Last instant listed (inclusive to the second); becomes the watermark once the window is queued. */
  endMs: number;
  /** The end was capped at now: committing this window means the sync has caught up. */
  reachesNow: boolean;
}

export interface NextWindowInput {
  /** The watermark, or for a first run the backfill start date. */
  positionMs: number;
  /** True when positionMs is a watermark (re-read the overlap); false for the very first backfill window. */
  fromWatermark: boolean;
  overlapMs: number;
  windowMs: number;
  nowMs: number;
}

/**
 * The next window, or undefined when the position has caught up with now. The start goes back by the overlap
 * because forms can surface in the listing a little after their updateTime (and the vendor's end bound may be
 * exclusive to the second); the end is capped at now, rounded down to the second so that the watermark is
 * exactly the endDate that was sent.
 */
export function nextWindow(input: NextWindowInput): SyncWindow | undefined {
  const limit = floorToSecond(input.nowMs);
  if (input.positionMs >= limit) return undefined;
  const startMs = floorToSecond(input.fromWatermark ? input.positionMs - input.overlapMs : input.positionMs);
  const full = floorToSecond(input.positionMs + input.windowMs);
  const endMs = Math.min(full, limit);
  if (endMs <= input.positionMs) return undefined;
  return { startMs, endMs, reachesNow: endMs === limit };
}

/**
 * The forms the next window re-reads: those handled with an updateTime at or after the next window's start
 * (one second of slack for the vendor's rounding). Older entries can never be listed again and are dropped,
 * which keeps the state small.
 */
export function pruneEdge(
  edge: Iterable<readonly [string, number]>,
  watermarkMs: number,
  overlapMs: number,
): Array<[string, number]> {
  const keepFrom = floorToSecond(watermarkMs - overlapMs) - 1000;
  const unique = new Map<string, [string, number]>();
  for (const [id, updateTime] of edge) {
    if (updateTime >= keepFrom) unique.set(`${id}\u0000${updateTime}`, [id, updateTime]);
  }
  return [...unique.values()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
