/**
 * The scheduled run's two backstops for pushes, in order: first the forms whose outbound messages 合思 gave up
 * delivering (its failure log, core/hooks/replay-failures.ts), then the watermark sync. A failed replay is logged
 * and does not stop the sync (the sync would find those forms too, only later); it asks for the same range again
 * next run because its watermark did not move.
 */

import type { ReplaySummary } from '../core/hooks/replay-failures.js';
import type { Logger } from '../core/ports.js';
import type { ScheduledSyncHook } from './scheduled-sync.js';

export type ReplayHook = (signal?: AbortSignal) => Promise<ReplaySummary>;

export function replayThenSync(
  sync: ScheduledSyncHook,
  replay: ReplayHook,
  logger: Logger,
): ScheduledSyncHook {
  return async (event, context, signal) => {
    let replayed: ReplaySummary | { error: string };
    try {
      replayed = await replay(signal);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      logger.error('replay of failed outbound messages failed; the sync still runs', {
        code: typeof code === 'string' ? code : 'internal',
        error: err instanceof Error ? err.message : String(err),
      });
      replayed = { error: typeof code === 'string' ? code : 'internal' };
    }
    const summary = await sync(event, context, signal);
    return Object.assign(summary, { replay: replayed });
  };
}
