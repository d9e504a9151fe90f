/**
 * getApplyList takes its window as `yyyy-MM-dd HH:mm:ss` wall-clock text, most likely in China time (UTC+8, no
 * daylight saving since 1991). Formatting by hand from UTC fields keeps the answer independent of the machine's
 * TZ (Lambda runs in UTC, laptops do not).
 */
import { ValidationError } from '../errors.js';

export const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000;
const CHINA_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `yyyy-MM-dd HH:mm:ss` in China time for an epoch-ms instant (milliseconds are dropped, not rounded). */
export function formatChinaTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) {
    throw new ValidationError(`cannot format ${String(epochMs)} as a China-time date`);
  }
  const d = new Date(epochMs + CHINA_OFFSET_MS);
  if (Number.isNaN(d.getTime())) throw new ValidationError(`cannot format ${epochMs} as a China-time date`);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** Epoch ms of a `yyyy-MM-dd HH:mm:ss` China wall-clock time; undefined when malformed or impossible. */
export function parseChinaTime(text: string): number | undefined {
  const m = CHINA_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - CHINA_OFFSET_MS;
  // Date.UTC rolls 2026-02-30 over into March: a round trip rejects impossible dates.
  return formatChinaTime(ms) === text ? ms : undefined;
}

/** The instant rounded down to a whole second: the precision the vendor's date filter can express. */
export function floorToSecond(epochMs: number): number {
  return Math.floor(epochMs / 1000) * 1000;
}

/**
 * Parses the configured backfill start: a bare date (`2024-01-01`, midnight China time), a China wall-clock
 * time (`2024-01-01 08:00:00`), or any ISO 8601 instant with an offset. A bare date means the tenant's day,
 * not UTC's, because that is what a person in China means by it.
 */
export function parseStartDate(text: string, field = 'syncStartDate'): number {
  const trimmed = text.trim();
  const bare = /^(\d{4}-\d{2}-\d{2})$/.exec(trimmed);
  if (bare) {
    const ms = parseChinaTime(`${bare[1]} 00:00:00`);
    if (ms !== undefined) return ms;
  } else {
    const china = parseChinaTime(trimmed);
    if (china !== undefined) return china;
    if (/[zZ]|[+-]\d{2}:?\d{2}$/.test(trimmed)) {
      const ms = Date.parse(trimmed);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  throw new ValidationError(
    `${field} must be a date such as 2024-01-01, "2024-01-01 08:00:00" (China time) or an ISO instant with an offset (got ${JSON.stringify(text)})`,
  );
}
