/**
 * SQS → copy worker, with partial batch responses (ReportBatchItemFailures). Each message is one batch of ≤100
 * refs, copied and reported to jobs/<jobId>/batches/<batchId>.json after every attempt (see run-messages.ts).
 * A message goes back to the queue only while retryable failures remain and receives are left; the attempt that
 * reaches the receive limit writes a final report instead of failing (the report keeps the reasons).
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { MetricsSink } from '../compose/composition.js';
import { fromEnvironment } from '../compose/composition.js';
import { copyHandlerDeps } from '../compose/copy.js';
import type { RunBatchDeps } from '../core/copy/run-batch.js';
import { runMessages } from '../core/copy/run-messages.js';
import { deadline, type WithDeadline } from '../middleware/deadline.js';
import { asLambdaHandler, type DepsSource, lazyDeps, type WithDeps } from '../middleware/lazy-deps.js';
import { tuneYoungGeneration } from '../young-generation.js';

export interface CopyHandlerDeps extends RunBatchDeps {
  /** The queue's receive limit (EKB_MAX_RECEIVE_COUNT, same as the redrive policy). */
  maxReceiveCount: number;
  /** Time kept back from the Lambda deadline to abort uploads and still write the report. */
  deadlineMarginMs: number;
  /** Where the per-invocation metrics go (CloudWatch EMF on stdout by default). */
  metrics: MetricsSink;
}

type CopyContext = Context & WithDeps<CopyHandlerDeps> & WithDeadline;

// Bad config throws from the deps: the whole delivery is retried (then dead-lettered), never silently dropped.
export function createHandler(deps: DepsSource<CopyHandlerDeps>) {
  const handler = middy<SQSEvent, SQSBatchResponse, Error, CopyContext>()
    .use(lazyDeps(deps))
    .use(deadline((d: CopyHandlerDeps) => d.deadlineMarginMs))
    .handler(async (event, context) => {
      const d = context.deps;
      const messages = event.Records.map((r) => ({
        id: r.messageId,
        body: r.body,
        attempt: Math.max(1, Math.floor(Number(r.attributes?.ApproximateReceiveCount)) || 1),
      }));
      const signal = context.signal ? { signal: context.signal } : {};
      const { retry, totals: t } = await runMessages(
        messages,
        { maxReceiveCount: d.maxReceiveCount, ...signal },
        d,
      );
      d.metrics({
        FilesCopied: { value: t.copied, unit: 'Count' },
        FilesSkipped: { value: t.skipped, unit: 'Count' },
        FilesFailed: { value: t.failed, unit: 'Count' },
        BytesCopied: { value: t.bytes, unit: 'Bytes' },
        ReResolves: { value: t.reResolves, unit: 'Count' },
        MalformedMessages: { value: t.malformed, unit: 'Count' },
      });
      return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
    });
  return asLambdaHandler(handler);
}

// The function's process moves file bodies: see young-generation.ts.
tuneYoungGeneration();

export const handler = createHandler(() => copyHandlerDeps(fromEnvironment('copy')));
