/**
 * The scheduled sync as fan-out's hook for an EventBridge "Scheduled Event": job creation on fan-out's own queue
 * and report store, the invocation's time limits, and the event's identity on the log lines (compose.ts wires it).
 *
 * The state store is the choice that matters: in AWS the lock needs S3's conditional writes (one state object,
 * PutObject If-None-Match / If-Match), which hold across concurrent Lambdas. The local stack uses the same store:
 * its embedded S3 honours those headers (infra/local/conditional-writes.ts).
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { fallbackLanes, type Lanes } from '../core/attachments/lanes.js';
import { refsJobStarter } from '../core/jobs/create-job.js';
import type { BatchQueue, FormsSource, Logger, ReportStore, VersionedStore } from '../core/ports.js';
import { runSync, type SyncSummary } from '../core/sync/run-sync.js';
import { type SyncConfig, type SyncOptions, syncOptionsFromConfig } from '../core/sync/sync-options.js';

export interface ScheduledSyncDeps {
  forms: Pick<FormsSource, 'getApplyList'>;
  state: VersionedStore;
  queue: BatchQueue;
  store: ReportStore;
  logger: Logger;
  /** Where job records live (config.reportPrefix). */
  reportPrefix?: string;
  /** The bucket's lanes (config); default: the sync template's root plus attachments/ and forms/. */
  lanes?: Lanes;
  /** Extra options (tests, the local stack: page pause, window size, state key). */
  options?: Partial<SyncOptions>;
  now?: () => number;
}

export type ScheduledSyncHook = (
  event: ScheduledEvent,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  signal?: AbortSignal,
) => Promise<SyncSummary>;

export function createScheduledSync(config: SyncConfig, deps: ScheduledSyncDeps): ScheduledSyncHook {
  const startJob = refsJobStarter({
    queue: deps.queue,
    store: deps.store,
    logger: deps.logger,
    lanes: deps.lanes ?? fallbackLanes(config.syncObjectKeyTemplate, deps.reportPrefix),
    ...(deps.reportPrefix === undefined ? {} : { reportPrefix: deps.reportPrefix }),
  });
  return async (event, context, signal) => {
    const log = deps.logger.child({ scheduledEventId: event.id, scheduledTime: event.time });
    const remaining = context.getRemainingTimeInMillis?.bind(context);
    const options = {
      ...syncOptionsFromConfig(config, {
        ...(remaining ? { remainingMs: remaining } : {}),
        ...(signal ? { signal } : {}),
      }),
      ...deps.options,
    };
    // runSync logs its own result line; this hook only adds the event's identity to it.
    return runSync(options, {
      forms: deps.forms,
      state: deps.state,
      startJob,
      logger: log,
      ...(deps.now ? { now: deps.now } : {}),
    });
  };
}
