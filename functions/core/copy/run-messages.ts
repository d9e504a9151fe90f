/**
 * The copy worker's loop over one delivery of queue messages, free of Lambda types: each message is parsed, copied
 * and reported; the answer says which messages to hand back to the queue, plus totals for logs and metrics.
 */

import { parseBatchMessage } from '../jobs/batch-message.js';
import type { Logger } from '../ports.js';
import { type RunBatchDeps, runBatchMessage } from './run-batch.js';

export interface QueuedMessage {
  id: string;
  body: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  attempt: number;
}

export interface MessagesTotals {
  messages: number;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  reResolves: number;
  malformed: number;
}

export interface RunMessagesOutcome {
  /** Message ids to hand back to the queue. */
  retry: string[];
  totals: MessagesTotals;
}

/**
 * Messages run one after another (each already copies up to `concurrency` files at once), all under the same
 * deadline signal: once it fires, later messages come back with every ref `deadline` and are retried.
 * A malformed body can never succeed: logged with its message id and counted, not retried.
 * A report that cannot be written: retried, so the outcome is never lost.
 */
export async function runMessages(
  messages: readonly QueuedMessage[],
  options: { maxReceiveCount: number; signal?: AbortSignal },
  deps: RunBatchDeps & { logger: Logger },
): Promise<RunMessagesOutcome> {
  const retry: string[] = [];
  const totals: MessagesTotals = {
    messages: messages.length,
    copied: 0,
    skipped: 0,
    failed: 0,
    bytes: 0,
    reResolves: 0,
    malformed: 0,
  };
  for (const m of messages) {
    const log = deps.logger.child({ messageId: m.id });
    let message: ReturnType<typeof parseBatchMessage>;
    try {
      message = parseBatchMessage(m.body);
    } catch (err) {
      totals.malformed += 1;
      log.error('malformed copy message dropped: it can never succeed', { error: err });
      continue;
    }
    try {
      const out = await runBatchMessage(
        {
          message,
          attempt: m.attempt,
          maxReceiveCount: options.maxReceiveCount,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        { ...deps, logger: log },
      );
      totals.copied += out.summary.copied;
      totals.skipped += out.summary.skipped;
      totals.failed += out.summary.failed;
      totals.bytes += out.summary.bytes;
      totals.reResolves += out.stats.reResolves;
      if (out.retry) retry.push(m.id);
      log.info('copy batch', { ...out.summary, retry: out.retry, reResolves: out.stats.reResolves });
    } catch (err) {
      retry.push(m.id);
      log.error('copy batch report not written; the message will be retried', {
        jobId: message.jobId,
        batchId: message.batchId,
        error: err,
      });
    }
  }
  return { retry, totals };
}
