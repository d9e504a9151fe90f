import { describe, expect, it } from 'vitest';
import { nextWindow, pruneEdge } from '../../../../functions/core/sync/windows.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.UTC(2026, 2, 1);

describe('nextWindow', () => {
  it('starts the overlap before a watermark and ends at now when now is closer than a window', () => {
    expect(
      nextWindow({
        positionMs: T0,
        fromWatermark: true,
        overlapMs: 10 * MIN,
        windowMs: DAY,
        nowMs: T0 + 3_600_500,
      }),
    ).toEqual({ startMs: T0 - 10 * MIN, endMs: T0 + 3_600_000, reachesNow: true });
  });

  it('starts exactly at the backfill start date (no overlap before it) and spans one window', () => {
    expect(
      nextWindow({
        positionMs: T0,
        fromWatermark: false,
        overlapMs: 10 * MIN,
        windowMs: DAY,
        nowMs: T0 + 5 * DAY,
      }),
    ).toEqual({ startMs: T0, endMs: T0 + DAY, reachesNow: false });
  });

  it('answers undefined once the position has caught up with now', () => {
    expect(
      nextWindow({ positionMs: T0, fromWatermark: true, overlapMs: 0, windowMs: DAY, nowMs: T0 + 999 }),
    ).toBeUndefined();
    expect(
      nextWindow({ positionMs: T0, fromWatermark: true, overlapMs: 0, windowMs: DAY, nowMs: T0 - 5 }),
    ).toBe(undefined);
  });
});

describe('pruneEdge', () => {
  it('keeps forms the next window re-reads and drops older ones and repeats', () => {
    const watermark = T0 + DAY;
    const edge = pruneEdge(
      [
        ['old', watermark - 11 * MIN - 1000],
        ['b', watermark - 5 * MIN],
        ['a', watermark - 10 * MIN],
        ['b', watermark - 5 * MIN],
      ],
      watermark,
      10 * MIN,
    );
    expect(edge).toEqual([
      ['a', watermark - 10 * MIN],
      ['b', watermark - 5 * MIN],
    ]);
  });
});
