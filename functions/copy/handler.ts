/**
 * SQS → copy worker, with partial batch responses (ReportBatchItemFailures). Each message is one batch of ≤100
 * refs, copied and reported to jobs/<jobId>/batches/<batchId>.json after every attempt (see run-messages.ts).
 * A message goes back to the queue only while retryable failures remain and receives are left; the attempt that
 * reaches the receive limit writes a final report instead of failing (the report keeps the reasons).
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../config.js';
import { deadlineSignal } from '../core/copy/deadline.js';
import { runMessages } from '../core/copy/run-messages.js';
import { type CopyHandlerDeps, depsFromConfig } from './deps.js';

export function createHandler(deps: CopyHandlerDeps | (() => CopyHandlerDeps)) {
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // Bad config throws here: the whole delivery is retried (then dead-lettered), never silently dropped.
    const d = typeof deps === 'function' ? deps() : deps;
    const deadline = deadlineSignal(context.getRemainingTimeInMillis?.(), d.deadlineMarginMs);
    let outcome: Awaited<ReturnType<typeof runMessages>>;
    try {
      const messages = event.Records.map((r) => ({
        id: r.messageId,
        body: r.body,
        attempt: Math.max(1, Math.floor(Number(r.attributes?.ApproximateReceiveCount)) || 1),
      }));
      outcome = await runMessages(messages, { maxReceiveCount: d.maxReceiveCount, ...deadline.options }, d);
    } finally {
      deadline.dispose();
    }
    const t = outcome.totals;
    d.metrics({
      FilesCopied: { value: t.copied, unit: 'Count' },
      FilesSkipped: { value: t.skipped, unit: 'Count' },
      FilesFailed: { value: t.failed, unit: 'Count' },
      BytesCopied: { value: t.bytes, unit: 'Bytes' },
      ReResolves: { value: t.reResolves, unit: 'Count' },
      MalformedMessages: { value: t.malformed, unit: 'Count' },
    });
    return { batchItemFailures: outcome.retry.map((itemIdentifier) => ({ itemIdentifier })) };
  });
}

let built: CopyHandlerDeps | undefined;

export const handler = createHandler(() => {
  built ??= depsFromConfig(loadConfig());
  return built;
});
