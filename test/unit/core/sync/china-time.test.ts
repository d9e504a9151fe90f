import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../functions/core/errors.js';
import {
  floorToSecond,
  formatChinaTime,
  parseChinaTime,
  parseStartDate,
} from '../../../../functions/core/sync/china-time.js';

const originalTz = process.env.TZ;

describe('formatChinaTime', () => {
  afterEach(() => {
    process.env.TZ = originalTz;
  });

  it('formats an instant as China wall-clock time (UTC+8)', () => {
    expect(formatChinaTime(Date.UTC(2026, 2, 2, 1, 15, 0))).toBe('2026-03-02 09:15:00');
  });

  it('rolls over to the next China day when UTC is still on the previous one', () => {
    expect(formatChinaTime(Date.UTC(2026, 2, 2, 23, 30, 0))).toBe('2026-03-03 07:30:00');
    expect(formatChinaTime(Date.UTC(2025, 11, 31, 16, 0, 0))).toBe('2026-01-01 00:00:00');
  });

  it('drops milliseconds instead of rounding up', () => {
    expect(formatChinaTime(Date.UTC(2026, 0, 1, 0, 0, 59, 999))).toBe('2026-01-01 08:00:59');
  });

  it('gives the same text whatever the machine time zone is', () => {
    const instant = Date.UTC(2026, 6, 1, 12, 34, 56);
    const answers = ['UTC', 'America/New_York', 'Asia/Shanghai', 'Pacific/Kiritimati'].map((tz) => {
      process.env.TZ = tz;
      return formatChinaTime(instant);
    });
    expect(new Set(answers)).toEqual(new Set(['2026-07-01 20:34:56']));
  });

  it('rejects an instant that is not a finite number', () => {
    expect(() => formatChinaTime(Number.NaN)).toThrow(ValidationError);
  });
});

describe('parseChinaTime', () => {
  it('reads China wall-clock text back as the instant', () => {
    expect(parseChinaTime('2026-03-03 07:30:00')).toBe(Date.UTC(2026, 2, 2, 23, 30, 0));
  });

  it('refuses malformed and impossible dates', () => {
    expect(parseChinaTime('2026-02-30 00:00:00')).toBeUndefined();
    expect(parseChinaTime('2026-03-03T07:30:00')).toBeUndefined();
    expect(parseChinaTime('2026-03-03 7:30:00')).toBeUndefined();
  });

  it('round-trips every whole second from 2000 to 2100', () => {
    fc.assert(
      fc.property(fc.integer({ min: 946_684_800, max: 4_102_444_800 }), (seconds) => {
        const ms = seconds * 1000;
        expect(parseChinaTime(formatChinaTime(ms))).toBe(ms);
      }),
    );
  });
});

describe('parseStartDate', () => {
  it('reads a bare date as midnight China time', () => {
    expect(parseStartDate('2026-03-01')).toBe(Date.UTC(2026, 1, 28, 16, 0, 0));
  });

  it('reads China wall-clock text and ISO instants with an offset', () => {
    expect(parseStartDate('2026-03-01 08:00:00')).toBe(Date.UTC(2026, 2, 1, 0, 0, 0));
    expect(parseStartDate('2026-03-01T00:00:00Z')).toBe(Date.UTC(2026, 2, 1));
    expect(parseStartDate('2026-03-01T08:00:00+08:00')).toBe(Date.UTC(2026, 2, 1));
  });

  it('names the field when the text is not a date', () => {
    expect(() => parseStartDate('yesterday', 'EKB_SYNC_START_DATE')).toThrow(/EKB_SYNC_START_DATE/);
    expect(() => parseStartDate('2026-02-30')).toThrow(ValidationError);
    // An ISO time without an offset is ambiguous (whose midnight?): refused rather than guessed.
    expect(() => parseStartDate('2026-03-01T00:00:00')).toThrow(ValidationError);
  });
});

describe('floorToSecond', () => {
  it('rounds down to the whole second', () => {
    expect(floorToSecond(1_772_000_000_999)).toBe(1_772_000_000_000);
    expect(floorToSecond(1_772_000_000_000)).toBe(1_772_000_000_000);
  });
});
