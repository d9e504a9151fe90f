/**
 * SQS → verify worker (batch size 1, partial batch responses): each message is one part of a verify run (see
 * core/verify/verify-run.ts), checked until its object budget or the deadline margin, its findings written under
 * verify/<runId>/parts/, and the next part queued. A message whose part could not be written goes back to the queue
 * (a redone part writes the same keys); a malformed one is logged and dropped.
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { fromEnvironment, type MetricsSink } from '../compose/composition.js';
import { verifyHandlerDeps } from '../compose/verify.js';
import { parseVerifyMessage } from '../core/verify/verify-message.js';
import { runVerifyPart, type VerifyRunDeps } from '../core/verify/verify-run.js';
import { deadline, type WithDeadline } from '../middleware/deadline.js';
import { asLambdaHandler, type DepsSource, lazyDeps, type WithDeps } from '../middleware/lazy-deps.js';

export interface VerifyHandlerDeps extends VerifyRunDeps {
  /** Time kept back from the Lambda deadline to write the part and queue the next. */
  deadlineMarginMs: number;
  /** ObjectsVerified and ObjectsDiffering per invocation (the stack alarms on the second). */
  metrics: MetricsSink;
}

type VerifyContext = Context & WithDeps<VerifyHandlerDeps> & WithDeadline;

export function createHandler(deps: DepsSource<VerifyHandlerDeps>) {
  const handler = middy<SQSEvent, SQSBatchResponse, Error, VerifyContext>()
    .use(lazyDeps(deps))
    .use(deadline((d: VerifyHandlerDeps) => d.deadlineMarginMs))
    .handler(async (event, context) => {
      const d = context.deps;
      const retry: string[] = [];
      let checked = 0;
      let differing = 0;
      for (const record of event.Records) {
        const log = d.logger.child({ messageId: record.messageId });
        const message = parseVerifyMessage(record.body);
        if ('bad' in message) {
          log.error('malformed verify message dropped: it can never succeed', { error: message.bad });
          continue;
        }
        try {
          const { totals: t } = await runVerifyPart(message.ok, { ...d, logger: log }, context.signal);
          checked += t.checked;
          differing += t.changed + t.missing + t.unrecorded + t.errors;
        } catch (err) {
          retry.push(record.messageId);
          log.error('verify part not finished; the message will be retried', {
            runId: message.ok.runId,
            error: err,
          });
        }
      }
      d.metrics({
        ObjectsVerified: { value: checked, unit: 'Count' },
        ObjectsDiffering: { value: differing, unit: 'Count' },
      });
      return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
    });
  return asLambdaHandler(handler);
}

export const handler = createHandler(() => verifyHandlerDeps(fromEnvironment('verify')));
