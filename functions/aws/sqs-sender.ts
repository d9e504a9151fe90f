/**
 * The BatchQueue port on SQS. SendMessageBatch takes at most 10 entries and 256 KiB in total per call, so entries
 * are grouped by both; entries SQS reports as Failed are sent again (bounded), and if any still fail the whole send
 * throws, naming how many, so the caller (fan-out) does not write a job record for batches that never left.
 *
 * Oversized messages are prevented upstream: batching.ts splits a batch before its id is assigned, so every
 * batchId in a job record is exactly one message. A message that is still too large here is a bug, reported as
 * such rather than sent to be refused.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { AbortedError, AppError } from '../core/errors.js';
import type { BatchMessage } from '../core/model/batch.js';
import type { BatchQueue } from '../core/ports.js';
import { backoffDelay, defaultSleep, type Sleep } from '../core/util/backoff.js';

/** SQS limits: 10 entries per SendMessageBatch, 256 KiB per message and per call (sum of bodies). */
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_PAYLOAD_BYTES = 256 * 1024;

export interface SqsBatchQueueOptions {
  /** Sends per entry, including the first (default 4): Failed entries are usually throttling and pass soon. */
  maxAttempts?: number;
  /** First backoff, doubled per retry with full jitter (default 200 ms). */
  baseDelayMs?: number;
  sleep?: Sleep;
  random?: () => number;
}

interface Pending {
  entry: SendMessageBatchRequestEntry;
  bytes: number;
  batchId: string;
}

/** Groups entries into calls of ≤10 entries and ≤256 KiB, in order. */
export function groupForSendMessageBatch<T extends { bytes: number }>(items: T[]): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (
      current.length === SQS_MAX_BATCH_ENTRIES ||
      (current.length > 0 && size + item.bytes > SQS_MAX_PAYLOAD_BYTES)
    ) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += item.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The queue on a client built from the SDK's standard settings (region, credentials). */
export function sqsBatchQueue(queueUrl: string): BatchQueue {
  return createSqsBatchQueue(new SQSClient({}), queueUrl);
}

export function createSqsBatchQueue(
  client: Pick<SQSClient, 'send'>,
  queueUrl: string,
  options: SqsBatchQueueOptions = {},
): BatchQueue {
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;

  return {
    async sendBatches(messages: BatchMessage[], signal?: AbortSignal): Promise<void> {
      let pending: Pending[] = messages.map((m, i) => {
        const body = JSON.stringify(m);
        const bytes = Buffer.byteLength(body, 'utf8');
        if (bytes > SQS_MAX_PAYLOAD_BYTES) {
          throw new AppError(
            'message_too_large',
            `batch ${m.batchId} of job ${m.jobId} is ${bytes} bytes, more than one SQS message holds (256 KiB)`,
          );
        }
        // Entry ids only need to be unique within one call; the index keeps them short and valid.
        return { entry: { Id: `m${i}`, MessageBody: body }, bytes, batchId: m.batchId };
      });
      const refused: Array<{ batchId: string; code: string }> = [];
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (signal?.aborted) throw new AbortedError('sending batches was cancelled');
        const failed: Pending[] = [];
        for (const group of groupForSendMessageBatch(pending)) {
          let out: Awaited<ReturnType<typeof sendOnce>>;
          try {
            out = await sendOnce(group);
          } catch (err) {
            if (signal?.aborted) throw new AbortedError('sending batches was cancelled', err);
            throw new AppError(
              'queue_send_failed',
              `could not send ${group.length} batch message(s) to SQS`,
              {
                retryable: true,
                status: 503,
                cause: err,
              },
            );
          }
          const byId = new Map(group.map((p) => [p.entry.Id, p]));
          for (const f of out.Failed ?? []) {
            const p = f.Id === undefined ? undefined : byId.get(f.Id);
            if (p === undefined) continue;
            // SenderFault means SQS will refuse this entry every time (bad body): no point sending it again.
            if (f.SenderFault) refused.push({ batchId: p.batchId, code: f.Code ?? 'unknown' });
            else failed.push(p);
          }
        }
        if (failed.length === 0) break;
        if (attempt >= maxAttempts) {
          for (const p of failed) refused.push({ batchId: p.batchId, code: 'still_failing' });
          break;
        }
        // Full jitter, as every backoff here: a uniform wait in [0, base·2^(attempt-1)].
        await sleep(
          backoffDelay(
            attempt,
            { baseMs: baseDelayMs, maxMs: Number.POSITIVE_INFINITY, maxRetryAfterMs: 0 },
            random,
          ),
          signal,
        );
        pending = failed;
      }
      if (refused.length > 0) {
        const sample = refused
          .slice(0, 5)
          .map((r) => `${r.batchId} (${r.code})`)
          .join(', ');
        throw new AppError(
          'queue_send_failed',
          `${refused.length} of ${messages.length} batch message(s) could not be queued: ${sample}${refused.length > 5 ? ', …' : ''}`,
          { retryable: true, status: 503, details: { failed: refused.length, total: messages.length } },
        );
      }

      function sendOnce(group: Pending[]) {
        return client.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: group.map((p) => p.entry) }),
          signal === undefined ? {} : { abortSignal: signal },
        );
      }
    },
  };
}
