/**
 * Nothing missed: the scheduled run asks 合思's failure log (outboundMessageLogs) for the outbound messages it
 * gave up on since the last run and starts those forms' archives through the same FormArchiver as a push. Each
 * log entry is recorded once under hooks/replays/ (create-only), so overlapping ranges and concurrent runs start
 * each entry once; the watermark (hooks/replay-state.json) moves only after the whole range was handled, so a
 * failed run asks for the same range again. The watermark sync stays the last backstop.
 */
import type { FormArchiver, Logger, OutboundFailureSource, VersionedStore } from '../ports.js';
import { REPLAY_STATE_KEY, replayEventKey } from './keys.js';
import { receiveEvent, wantsArchive } from './receive-event.js';

/** `message` = approval events (审批事件), `flow` = E-Bot (the vendor's default type). */
export const DEFAULT_REPLAY_MESSAGE_TYPES = ['message', 'flow'];
/** A first run looks back this far (the failure log's own retention is not documented). */
export const DEFAULT_REPLAY_LOOKBACK_HOURS = 72;
/** Each range starts this long before the watermark: an entry logged while the last run asked is not missed. */
const OVERLAP_MS = 5 * 60_000;

export interface ReplayState {
  v: 1;
  /** Entries created up to here were handled. */
  watermarkMs: number;
  lastRun?: { at: string; failures: number; started: number };
}

export interface ReplaySummary {
  startMs: number;
  endMs: number;
  /** Failure-log entries read (forms only). */
  failures: number;
  /** Archives started (queued). */
  started: number;
  duplicates: number;
  ignored: number;
  unknownForms: number;
  nothingToArchive: number;
}

export interface ReplayDeps {
  source: OutboundFailureSource;
  store: VersionedStore;
  archiver: FormArchiver;
  now: () => number;
  logger: Logger;
  actions: readonly string[];
  messageTypes?: readonly string[];
  lookbackHours?: number;
  signal?: AbortSignal;
}

export async function replayFailedDeliveries(deps: ReplayDeps): Promise<ReplaySummary> {
  const log = deps.logger.child({ component: 'hook-replay' });
  const current = await deps.store.get<ReplayState>(REPLAY_STATE_KEY);
  const endMs = deps.now();
  const lookbackMs = (deps.lookbackHours ?? DEFAULT_REPLAY_LOOKBACK_HOURS) * 3_600_000;
  const startMs = current ? Math.max(0, current.value.watermarkMs - OVERLAP_MS) : endMs - lookbackMs;
  const summary: ReplaySummary = {
    startMs,
    endMs,
    failures: 0,
    started: 0,
    duplicates: 0,
    ignored: 0,
    unknownForms: 0,
    nothingToArchive: 0,
  };
  for (const messageType of deps.messageTypes ?? DEFAULT_REPLAY_MESSAGE_TYPES) {
    const failures = await deps.source.listOutboundFailures({ messageType, startMs, endMs }, deps.signal);
    for (const f of failures) {
      summary.failures += 1;
      const result = await receiveEvent(
        {
          key: replayEventKey(f.id),
          record: {
            via: 'replay',
            flowId: f.flowId,
            ...(f.action ? { action: f.action } : {}),
            logId: f.id,
            receivedAt: new Date(deps.now()).toISOString(),
          },
          archive: wantsArchive(
            { flowId: f.flowId, ...(f.action ? { action: f.action } : {}) },
            deps.actions,
          ),
        },
        { store: deps.store, archiver: deps.archiver, now: deps.now, logger: log },
        deps.signal,
      );
      if (result.outcome === 'queued') summary.started += 1;
      else if (result.outcome === 'duplicate') summary.duplicates += 1;
      else if (result.outcome === 'ignored') summary.ignored += 1;
      else if (result.outcome === 'unknown_form') summary.unknownForms += 1;
      else if (result.outcome === 'nothing_to_archive') summary.nothingToArchive += 1;
    }
  }
  const next: ReplayState = {
    v: 1,
    watermarkMs: endMs,
    lastRun: { at: new Date(endMs).toISOString(), failures: summary.failures, started: summary.started },
  };
  // A concurrent run that moved it first has handled the same range (each entry once, by its record).
  const moved = await deps.store.putIfMatch(REPLAY_STATE_KEY, next, current?.etag ?? null);
  log.info('failed outbound messages replayed', { ...summary, watermarkMoved: moved !== undefined });
  return summary;
}
