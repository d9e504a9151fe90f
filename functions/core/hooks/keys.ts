/**
 * Where push events live in the bucket: the `hooks/` system lane (no archive lane may overlap it). One small
 * record per event, written with a create-only conditional write, is both the dedupe and the audit trail.
 */
import { createHash } from 'node:crypto';

export const HOOKS_PREFIX = 'hooks/';
/** The replay's watermark (the last failure-log time range asked for). */
export const REPLAY_STATE_KEY = `${HOOKS_PREFIX}replay-state.json`;

const stamp = (epochMs: number): string =>
  new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');

/**
 * A pushed event's record: per form, per action, per dedupe window, so 合思's retries and repeated events of
 * the window land on the one key. Form ids are checked (outbound-event.ts) to be key-safe.
 */
export function pushEventKey(flowId: string, action: string | undefined, windowStartMs: number): string {
  return `${HOOKS_PREFIX}events/${flowId}/${stamp(windowStartMs)}-${action ?? 'no-action'}.json`;
}

/** A replayed failure's record, per failure-log entry. */
export function replayEventKey(logId: string): string {
  const safe = /^[A-Za-z0-9_-]{1,128}$/.test(logId)
    ? logId
    : createHash('sha256').update(logId).digest('hex').slice(0, 32);
  return `${HOOKS_PREFIX}replays/${safe}.json`;
}

/** `push-<flowId>-<8 hex>`: a job id that names the path and the form, the same for the same event. */
export function hookJobId(via: 'push' | 'replay', flowId: string, eventId: string): string {
  const hash = createHash('sha256').update(eventId).digest('hex').slice(0, 8);
  return `${via}-${flowId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100)}-${hash}`;
}
