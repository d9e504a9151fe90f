/**
 * The CLI's in-process queue: the BatchQueue port the functions' job creation writes to (createJob), drained by
 * the copy engine in this process instead of by SQS and Lambda. Batches run a few at a time; sendBatches waits
 * while too many are waiting, so a huge manifest is read only as fast as it is copied (bounded memory).
 */

import type { BatchMessage } from '../../../functions/core/model/batch.js';
import type { CopyResult } from '../../../functions/core/model/copy-result.js';
import type { BatchQueue } from '../../../functions/core/ports.js';

export interface CopyRunnerOptions {
  /** Copies (or plans) one batch; must resolve, never reject (failures are results). */
  runBatch(message: BatchMessage, signal: AbortSignal): Promise<CopyResult[]>;
  /** Batches in flight at once. */
  batchesInFlight: number;
  /** sendBatches waits while more than this many batches wait to start. */
  maxWaiting?: number;
  signal: AbortSignal;
  /** Each batch's results, as it finishes. */
  onResults(message: BatchMessage, results: CopyResult[]): void;
  /** Each batch as it is queued. */
  onQueued?(message: BatchMessage): void;
}

export const CANCELLED_MESSAGE =
  'cancelled (Ctrl-C) before this file was copied; run the same command with the same --job-id to finish it';

/** What an unfinished ref becomes when the run stops (Ctrl-C, or the run stopping as a whole): `cancelled`. */
export function abortedResult(
  ref: { id: string; key: string },
  objectKey?: string,
  message: string = CANCELLED_MESSAGE,
): CopyResult {
  return {
    status: 'failed',
    id: ref.id,
    key: ref.key,
    ...(objectKey === undefined ? {} : { objectKey }),
    code: 'cancelled',
    retryable: true,
    message,
  };
}

export class CopyRunner implements BatchQueue {
  readonly #o: CopyRunnerOptions;
  readonly #waiting: BatchMessage[] = [];
  readonly #running = new Set<Promise<void>>();
  #roomWaiters: Array<() => void> = [];
  #drainWaiters: Array<() => void> = [];

  constructor(options: CopyRunnerOptions) {
    this.#o = options;
    options.signal.addEventListener('abort', () => this.#abortWaiting(), { once: true });
  }

  async sendBatches(messages: BatchMessage[], signal?: AbortSignal): Promise<void> {
    for (const message of messages) {
      if (this.#o.signal.aborted || signal?.aborted) throw new Error('interrupted');
      this.#o.onQueued?.(message);
      this.#waiting.push(message);
    }
    this.#pump();
    const limit = this.#o.maxWaiting ?? this.#o.batchesInFlight * 2;
    while (this.#waiting.length > limit && !this.#o.signal.aborted) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    if (this.#o.signal.aborted) throw new Error('interrupted');
  }

  /** Resolves when every queued batch has finished (or was reported aborted). */
  drain(): Promise<void> {
    if (this.#waiting.length === 0 && this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #pump(): void {
    while (
      this.#running.size < this.#o.batchesInFlight &&
      this.#waiting.length > 0 &&
      !this.#o.signal.aborted
    ) {
      const message = this.#waiting.shift() as BatchMessage;
      const run = this.#o
        .runBatch(message, this.#o.signal)
        .then((results) => this.#o.onResults(message, results))
        .catch((err: unknown) => {
          // A batch that could not run at all (its report could not be written): every ref says why.
          const text = err instanceof Error ? err.message : String(err);
          this.#o.onResults(
            message,
            message.refs.map((ref) => ({
              status: 'failed' as const,
              id: ref.id,
              key: ref.key,
              code: 'batch_failed',
              retryable: true,
              message: text,
            })),
          );
        })
        .finally(() => {
          this.#running.delete(run);
          this.#pump();
        });
      this.#running.add(run);
    }
    const rooms = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const resolve of rooms) resolve();
    if (this.#waiting.length === 0 && this.#running.size === 0) {
      const drains = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of drains) resolve();
    }
  }

  #abortWaiting(): void {
    const left = this.#waiting.splice(0);
    const reason = this.#o.signal.reason as unknown;
    const message = reason instanceof Error && reason.message !== '' ? reason.message : undefined;
    for (const batch of left)
      this.#o.onResults(
        batch,
        batch.refs.map((ref) => abortedResult(ref, undefined, message)),
      );
    this.#pump();
  }
}
