/**
 * Fan-out: starts copy jobs. Invoked asynchronously by S3 (ObjectCreated under manifests/: one job per manifest,
 * see s3-event.ts) and by the EventBridge sync schedule. It splits each job into batches of ≤100 refs on the copy
 * queue and writes jobs/<jobId>/job.json once all are queued.
 *
 * A throw makes Lambda retry the event (twice for S3, then the fan-out failure queue); that is only done for
 * failures a retry can fix (S3/SQS trouble, the deadline). Unusable manifests become job records with the reason.
 */
import middy from '@middy/core';
import type { Context, S3Event, ScheduledEvent } from 'aws-lambda';
import { scheduledSyncFromConfig } from '../aws/scheduled-sync.js';
import { loadConfig } from '../config.js';
import { deadlineSignal } from '../core/copy/deadline.js';
import { AppError } from '../core/errors.js';
import { depsFromConfig, type FanOutDeps } from './deps.js';
import { handleS3Event, isS3Event, type S3FanOutResult } from './s3-event.js';

export type FanOutEvent = S3Event | ScheduledEvent;
export type FanOutResult = S3FanOutResult | { kind: 'schedule'; result: unknown };

/** Time kept back from the deadline when the config gives none: enough to stop between two queue calls. */
const DEFAULT_DEADLINE_MARGIN_MS = 20_000;

export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  const e = event as { source?: unknown; 'detail-type'?: unknown } | null;
  return e?.['detail-type'] === 'Scheduled Event' && typeof e.source === 'string';
}

/** What kind of event this is; a new source adds a kind here and a case in the handler. */
export function fanOutEventKind(event: unknown): 's3' | 'schedule' | 'unknown' {
  if (isS3Event(event)) return 's3';
  if (isScheduledEvent(event)) return 'schedule';
  return 'unknown';
}

export interface FanOutHandlerDeps extends FanOutDeps {
  /** The scheduled sync (wired by its own module); without it a schedule event is logged and ignored. */
  sync?: (event: ScheduledEvent, context: Context, signal?: AbortSignal) => Promise<unknown>;
}

export function createHandler(deps: FanOutHandlerDeps | (() => FanOutHandlerDeps)) {
  return middy(async (event: FanOutEvent, context: Context): Promise<FanOutResult> => {
    // Bad config throws here: the event is retried, then kept in the failure queue, never dropped unseen.
    const d = typeof deps === 'function' ? deps() : deps;
    const log = d.logger.child({ requestId: context.awsRequestId });
    const deadline = deadlineSignal(
      context.getRemainingTimeInMillis?.(),
      d.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS,
    );
    try {
      switch (fanOutEventKind(event)) {
        case 's3': {
          const result = await handleS3Event(event as S3Event, d, log, deadline.options.signal);
          log.info('manifest event handled', { jobs: result.jobs, skipped: result.skipped });
          return result;
        }
        case 'schedule': {
          if (!d.sync) {
            log.warn('scheduled event ignored: the sync is not wired into this fan-out');
            return { kind: 'schedule', result: 'not_configured' };
          }
          return {
            kind: 'schedule',
            result: await d.sync(event as ScheduledEvent, context, deadline.options.signal),
          };
        }
        default:
          // Not retryable: the same event will never become one we understand.
          log.error('unrecognised event', { keys: Object.keys((event ?? {}) as object).slice(0, 10) });
          throw new AppError('unrecognised_event', 'fan-out got an event that is neither S3 nor a schedule');
      }
    } finally {
      deadline.dispose();
    }
  });
}

let built: FanOutHandlerDeps | undefined;

export const handler = createHandler(() => {
  if (!built) {
    const config = loadConfig();
    const base = depsFromConfig(config);
    built = { ...base, sync: scheduledSyncFromConfig(config, base) };
  }
  return built;
});
