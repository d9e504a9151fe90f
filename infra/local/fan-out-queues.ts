/**
 * How fan-out is invoked on this machine: the S3 `manifests/` notifications and the schedule's ticks each go
 * through a durable queue (local-queue.ts, on the stack's queue database) instead of being held in memory, so an
 * event that was accepted is never lost: a manifest whose job was not recorded when the process died is handed to
 * fan-out again after the restart.
 *
 * The queues play Lambda's asynchronous invocation (infra/constructs/triggers.ts): a failed invocation is retried
 * (S3 events twice, schedule events four times, a few seconds apart locally where AWS waits a minute or two), then
 * the event lands in the queue's DLQ, the on-failure destination (the stack's FanOutFailures queue).
 *
 * Redelivery is safe: fan-out derives a manifest job's id from the event (bucket, key, ETag, sequencer), and the
 * event is stored whole, so a redelivered event continues the same job (job.json written only once every batch is
 * queued; batches queued twice are copied once, the second copy skips what the first archived, and the job counts
 * each batch once, by its id). A scheduled sync continues from its watermark.
 */
import type { Context, S3Event, ScheduledEvent, SQSEvent } from 'aws-lambda';
import type { SyncSummary } from '../../functions/core/sync/run-sync.js';
import type { FanOutResult } from '../../functions/fan-out/handler.js';
import { LocalQueue, type QueueEvent } from './local-queue.js';

export const MANIFEST_EVENTS_QUEUE = 'ekb-archive-manifests';
export const SCHEDULE_EVENTS_QUEUE = 'ekb-archive-schedule';
/** The stack's retry settings for fan-out's asynchronous invocations (infra/constructs/triggers.ts). */
export const S3_EVENT_RETRIES = 2;
export const SCHEDULE_RETRIES = 4;
/** AWS waits about 1 and 2 minutes between async retries; locally a few seconds show the same behaviour. */
const LOCAL_RETRY_DELAYS_MS = [2_000, 5_000, 10_000, 20_000];

export type FanOut = (event: S3Event | ScheduledEvent, context: Context) => Promise<unknown>;

/** An event fan-out could not handle in all its tries: what `GET /_local/queues` lists. */
export interface FanOutFailure {
  queue: string;
  messageId: string;
  receiveCount: number;
  deadLetteredAt: string;
  /** The last try's error, when this process saw it (not kept across a restart). */
  error?: string;
  event: unknown;
}

export interface FanOutQueuesOptions {
  /** The stack's queue database file. */
  database: string;
  fanOut: FanOut;
  timeoutMs: number;
  say: (line: string) => void;
  /** Told of every scheduled sync run's outcome (its summary, or the error of a failed try). */
  onSync?: (outcome: SyncOutcome) => void;
}

export type SyncOutcome =
  | { at: string; summary: SyncSummary }
  | { at: string; error: string; attempt: number; willRetry: boolean };

export interface FanOutQueues {
  readonly manifests: LocalQueue;
  readonly schedule: LocalQueue;
  /** Queues an S3 notification; on disk when this returns. */
  sendS3Event(event: S3Event): void;
  /** Queues a schedule tick, unless one is still waiting or running (a tick never overlaps the previous one). */
  sendScheduledEvent(event: ScheduledEvent): boolean;
  failures(): FanOutFailure[];
  /** Events waiting, in flight or waiting to be retried. */
  readonly pending: number;
  idle(): Promise<void>;
  start(): void;
  close(): Promise<void>;
}

export function startFanOutQueues(options: FanOutQueuesOptions): FanOutQueues {
  const { say } = options;
  const lastErrors = new Map<string, string>();
  const queue = (name: string, what: string, retries: number, onResult?: (result: unknown) => void) => {
    const tries = retries + 1;
    return new LocalQueue({
      name,
      database: options.database,
      paused: true,
      // Past the function's timeout, so a running invocation never sees its event handed out again.
      visibilityTimeoutMs: options.timeoutMs + 30_000,
      maxReceiveCount: tries,
      retryDelayMs: (receiveCount) => LOCAL_RETRY_DELAYS_MS[receiveCount - 1] ?? 20_000,
      batchSize: 1,
      maxConcurrency: name === SCHEDULE_EVENTS_QUEUE ? 1 : 2,
      consumer: {
        functionName: 'ekb-archive-fan-out',
        timeoutMs: options.timeoutMs,
        handler: async (event: SQSEvent, context: Context) => {
          for (const record of event.Records) {
            const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
            try {
              const result = await options.fanOut(JSON.parse(record.body), context);
              lastErrors.delete(record.messageId);
              onResult?.(result);
            } catch (err) {
              const text = err instanceof Error ? err.message : String(err);
              lastErrors.set(record.messageId, text);
              const willRetry = attempt < tries;
              say(
                `fan-out: ${what} failed (try ${attempt} of ${tries}): ${text}${willRetry ? '; it will be tried again' : ''}`,
              );
              if (name === SCHEDULE_EVENTS_QUEUE) {
                options.onSync?.({ at: new Date().toISOString(), error: text, attempt, willRetry });
              }
              throw err;
            }
          }
        },
      },
      onEvent: (e: QueueEvent) => {
        if (e.kind === 'dead_lettered') {
          say(
            `fan-out: ${what} failed ${e.receiveCount} times; kept in ${name}-dlq (GET /_local/queues shows it)`,
          );
        }
      },
    });
  };
  const onScheduleResult = (result: unknown) => {
    const r = result as FanOutResult | undefined;
    if (r?.kind !== 'schedule' || typeof r.result !== 'object' || r.result === null) return;
    const summary = r.result as SyncSummary;
    say(describeSync(summary));
    options.onSync?.({ at: new Date().toISOString(), summary });
  };
  const manifests = queue(MANIFEST_EVENTS_QUEUE, 'a manifest event', S3_EVENT_RETRIES);
  let schedule: LocalQueue;
  try {
    schedule = queue(SCHEDULE_EVENTS_QUEUE, 'a scheduled sync', SCHEDULE_RETRIES, onScheduleResult);
  } catch (err) {
    void manifests.close();
    throw err;
  }
  const both = [manifests, schedule];
  return {
    manifests,
    schedule,
    sendS3Event: (event) => void manifests.send({ body: JSON.stringify(event) }),
    sendScheduledEvent(event) {
      const s = schedule.stats;
      if (s.waiting + s.inFlight > 0) return false;
      schedule.send({ body: JSON.stringify(event) });
      return true;
    },
    failures: () =>
      both.flatMap((q) =>
        q.deadLetters().map((d) => ({
          queue: q.name,
          messageId: d.messageId,
          receiveCount: d.receiveCount,
          deadLetteredAt: new Date(d.deadLetteredAt).toISOString(),
          ...(lastErrors.has(d.messageId) ? { error: lastErrors.get(d.messageId) as string } : {}),
          event: JSON.parse(d.body) as unknown,
        })),
      ),
    get pending() {
      return both.reduce((n, q) => n + q.stats.waiting + q.stats.inFlight, 0);
    },
    idle: async () => {
      await Promise.all(both.map((q) => q.idle()));
    },
    start: () => {
      for (const q of both) q.start();
    },
    close: async () => {
      await Promise.all(both.map((q) => q.close(QUEUE_CLOSE_GRACE_MS)));
    },
  };
}

/** How long a stopping stack waits for running invocations (told to stop) before handing their events back. */
export const QUEUE_CLOSE_GRACE_MS = 5_000;

/** One line for a scheduled sync run, whatever its outcome. */
export function describeSync(s: SyncSummary): string {
  switch (s.status) {
    case 'skipped_locked':
      return `sync: skipped: run ${s.lockedBy?.runId ?? '?'} holds the sync lock until ${s.lockedBy?.expiresAt ?? '?'} (a lock left by a stopped run expires then)`;
    case 'nothing_to_do':
      return 'sync: no forms changed since the last run (the watermark is kept in the bucket: sync/state.json)';
    case 'partial':
      return `sync: stopped early (${s.stoppedBecause ?? 'time'}) after ${s.windows} window(s), ${s.refs} refs queued; the next run continues from the watermark`;
    default:
      return `sync: ${s.forms} form(s) in ${s.windows} window(s), ${s.refs} refs queued${s.jobIds.length > 0 ? ` (jobs ${s.jobIds.join(', ')})` : ''}`;
  }
}
