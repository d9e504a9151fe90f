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
import { fromEnvironment } from '../compose/composition.js';
import { fanOutDeps } from '../compose/storage.js';
import { formArchiveDeps, scheduledSync } from '../compose/sync.js';
import { FUNCTION_SETTINGS } from '../config.js';
import { AppError, ErrorCode } from '../core/errors.js';
import { deadline, type WithDeadline } from '../middleware/deadline.js';
import { asLambdaHandler, type DepsSource, lazyDeps, type WithDeps } from '../middleware/lazy-deps.js';
import { type FanOutDeps, handleS3Event, isS3Event, type S3FanOutResult } from './s3-event.js';

export type FanOutEvent = S3Event | ScheduledEvent;
export type FanOutResult = S3FanOutResult | { kind: 'schedule'; result: unknown };

/** Time kept back from the deadline when the deps give none. */
const DEFAULT_DEADLINE_MARGIN_MS = FUNCTION_SETTINGS.deadlineMarginMs.default;

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
  /** The scheduled sync (compose/sync.ts); without it a schedule event is logged and ignored. */
  sync?: (event: ScheduledEvent, context: Context, signal?: AbortSignal) => Promise<unknown>;
}

type FanOutContext = Context & WithDeps<FanOutHandlerDeps> & WithDeadline;

// Bad config throws from the deps: the event is retried, then kept in the failure queue, never dropped unseen.
export function createHandler(deps: DepsSource<FanOutHandlerDeps>) {
  const handler = middy<FanOutEvent, FanOutResult, Error, FanOutContext>()
    .use(lazyDeps(deps))
    .use(deadline((d: FanOutHandlerDeps) => d.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS))
    .handler(async (event, context) => {
      const d = context.deps;
      const log = d.logger.child({ requestId: context.awsRequestId });
      switch (fanOutEventKind(event)) {
        case 's3': {
          const result = await handleS3Event(event as S3Event, d, log, context.signal);
          log.info('manifest event handled', { jobs: result.jobs, skipped: result.skipped });
          return result;
        }
        case 'schedule': {
          if (!d.sync) {
            log.warn('scheduled event ignored: the sync is not wired into this fan-out');
            return { kind: 'schedule', result: 'not_configured' };
          }
          return { kind: 'schedule', result: await d.sync(event as ScheduledEvent, context, context.signal) };
        }
        default:
          // Not retryable: the same event will never become one we understand.
          log.error('unrecognised event', { keys: Object.keys((event ?? {}) as object).slice(0, 10) });
          throw new AppError(
            ErrorCode.UnrecognisedEvent,
            'fan-out got an event that is neither S3 nor a schedule',
          );
      }
    });
  return asLambdaHandler(handler);
}

export const handler = createHandler(() => {
  const c = fromEnvironment('fan-out');
  return { ...fanOutDeps(c), sync: scheduledSync(c), formArchives: formArchiveDeps(c) };
});
