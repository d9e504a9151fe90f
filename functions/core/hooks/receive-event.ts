/**
 * What the receiving route does with a message once its secret checked out and its body parsed: decide, record,
 * start. Idempotent by construction: the event's record under hooks/ is created with a create-only conditional
 * write before anything is started, so 合思's retries and duplicate events inside the dedupe window find it and
 * cost one write attempt; later repeats reach the archive path, whose own checks (the copy worker's identity skip,
 * the package index of an archived version) keep them from archiving twice.
 *
 * A start that failed marks the record `failed`, so 合思's next retry (or the failure log's replay) takes it over
 * instead of being turned away as a duplicate.
 */
import { AppError } from '../errors.js';
import type { ArchiveVia, FormArchiver, Logger, VersionedStore } from '../ports.js';
import type { OutboundEvent } from './outbound-event.js';

/** Default dedupe window: 合思 retries within ~30 s; repeats of one event within the hour are one. */
export const DEFAULT_HOOK_DEDUPE_MINUTES = 60;
/** Actions that start an archive by default: 已支付/审批完成 (the form is final). */
export const DEFAULT_HOOK_ACTIONS = ['flow.paid'];
/** A record left `pending` this long was left by a start that never finished (a killed invocation). */
const STALE_PENDING_MS = 2 * 60_000;

export type EventOutcome =
  | 'queued'
  | 'ignored'
  | 'unknown_form'
  | 'nothing_to_archive'
  | 'failed'
  | 'pending';

/** hooks/events/… and hooks/replays/…: what arrived and what became of it (no secret, no body beyond these). */
export interface HookEventRecord {
  v: 1;
  via: ArchiveVia;
  flowId: string;
  action?: string;
  state?: string;
  nodeId?: string;
  /** The failure-log entry a replay came from. */
  logId?: string;
  receivedAt: string;
  outcome: EventOutcome;
  jobId?: string;
  /** Why it failed, as an error code. */
  reason?: string;
}

export interface ReceiveDeps {
  store: VersionedStore;
  archiver: FormArchiver;
  now: () => number;
  logger: Logger;
}

export interface ReceiveResult {
  outcome: EventOutcome | 'duplicate';
  jobId?: string;
}

/** True when this event should start an archive: its action is one of `actions`, or it has no action (E-Bot). */
export function wantsArchive(event: OutboundEvent, actions: readonly string[]): boolean {
  return event.action === undefined || actions.includes(event.action);
}

/**
 * Records the event at `key` (create-only) and, when `archive`, starts the form's archive. A duplicate (the
 * record exists and is not a failed or abandoned start) starts nothing.
 */
export async function receiveEvent(
  input: { key: string; record: Omit<HookEventRecord, 'outcome' | 'v'>; archive: boolean },
  deps: ReceiveDeps,
  signal?: AbortSignal,
): Promise<ReceiveResult> {
  const { key, archive } = input;
  const log = deps.logger.child({ flowId: input.record.flowId, via: input.record.via });
  const record: HookEventRecord = { v: 1, ...input.record, outcome: archive ? 'pending' : 'ignored' };
  let etag = await deps.store.putIfMatch(key, record, null);
  if (etag === undefined) {
    const existing = await deps.store.get<HookEventRecord>(key);
    const retake =
      existing !== undefined &&
      (existing.value.outcome === 'failed' ||
        (existing.value.outcome === 'pending' &&
          deps.now() - Date.parse(existing.value.receivedAt) > STALE_PENDING_MS));
    if (retake) etag = await deps.store.putIfMatch(key, record, existing.etag);
    if (etag === undefined) {
      log.info('duplicate event: already recorded', { action: record.action, was: existing?.value.outcome });
      return { outcome: 'duplicate', ...(existing?.value.jobId ? { jobId: existing.value.jobId } : {}) };
    }
  }
  if (!archive) {
    log.info('event recorded; its action does not start an archive', { action: record.action });
    return { outcome: 'ignored' };
  }
  const eventId = key;
  let settled: HookEventRecord;
  try {
    const started = await deps.archiver.startFormArchive(
      { flowId: record.flowId, via: record.via, eventId },
      signal,
    );
    settled = { ...record, outcome: started.outcome, ...(started.jobId ? { jobId: started.jobId } : {}) };
  } catch (err) {
    const reason = err instanceof AppError ? err.code : 'internal';
    await deps.store.putIfMatch(key, { ...record, outcome: 'failed', reason }, etag).catch(() => undefined);
    throw err;
  }
  // The archive is started; a failed note here only leaves the record `pending` (a later repeat re-starts the same
  // job id, which finds its job already queued).
  await deps.store.putIfMatch(key, settled, etag).catch((err: unknown) => {
    log.warn('could not note the event outcome', { error: err instanceof Error ? err.message : String(err) });
  });
  if (settled.outcome === 'unknown_form') {
    log.warn('bad event: 合思 has no such form (unknown or deleted); recorded, nothing archived');
  } else {
    log.info('form archive started', { outcome: settled.outcome, jobId: settled.jobId });
  }
  return { outcome: settled.outcome, ...(settled.jobId ? { jobId: settled.jobId } : {}) };
}
