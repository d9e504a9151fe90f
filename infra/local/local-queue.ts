/**
 * An SQS queue and its Lambda event source mapping, in one process: messages wait until visible, a receive hides
 * them for the visibility timeout, the consumer gets real SQS event records, and what happens next follows the
 * rules of the Lambda SQS poller with ReportBatchItemFailures:
 * - the function answers `{batchItemFailures: [...]}`: the named messages stay (visible again when their
 *   visibility timeout ends), the rest are deleted; an empty or missing answer deletes them all;
 * - the function throws, runs past its timeout, or names an id that is not in the batch: the whole batch stays;
 * - a message received `maxReceiveCount` times and due once more goes to the dead-letter queue instead (SQS's
 *   redrive policy; the stack uses 5), where it can be inspected.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttribute,
  SQSMessageAttributes,
  SQSRecord,
} from 'aws-lambda';
import { createLambdaContext, LOCAL_ACCOUNT_ID, LOCAL_REGION } from './lambda-context.js';

export type SqsHandler = (event: SQSEvent, context: Context) => unknown;

/**
 * SQS's classic message size limit, which the project's SQS adapter (functions/aws/sqs-sender.ts) and job creation
 * keep to; holding the local queue to it too means a message that fits here fits in AWS.
 */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
/** SendMessageBatch carries at most 10 entries. */
export const SQS_MAX_BATCH_ENTRIES = 10;
/** The stack's redrive policy (infra/constructs/copy-queue.ts MAX_RECEIVE_COUNT). */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

export interface LocalQueueOptions {
  /** Queue name, e.g. ekb-archive-copy; the DLQ is `<name>-dlq`. */
  name: string;
  /** How long a received message stays hidden. */
  visibilityTimeoutMs: number;
  maxReceiveCount?: number;
  /** Records per invocation (the stack's COPY_BATCH_SIZE is 1). */
  batchSize?: number;
  /** Invocations at once (the event source's maxConcurrency). */
  maxConcurrency?: number;
  /** The consumer; without one, messages just wait (a queue the tests read). */
  consumer?: { functionName: string; timeoutMs: number; handler: SqsHandler };
  region?: string;
  now?: () => number;
  /** Told when a message lands in the DLQ or an invocation fails as a whole. */
  onEvent?: (event: QueueEvent) => void;
}

export type QueueEvent =
  | { kind: 'dead_lettered'; messageId: string; receiveCount: number }
  | { kind: 'invocation_failed'; messageIds: string[]; reason: string }
  | { kind: 'retry_scheduled'; messageId: string; receiveCount: number; visibleInMs: number };

export interface SendInput {
  body: string;
  messageAttributes?: SQSMessageAttributes;
  delaySeconds?: number;
}

export interface SendBatchEntry extends SendInput {
  id: string;
}

export interface SendBatchResult {
  successful: Array<{ id: string; messageId: string; md5OfMessageBody: string }>;
  failed: Array<{ id: string; code: string; message: string; senderFault: boolean }>;
}

export interface QueueStats {
  sent: number;
  /** Receives, counting redeliveries. */
  received: number;
  deleted: number;
  deadLettered: number;
  /** Messages waiting to be visible or visible now. */
  waiting: number;
  /** Messages received and not yet deleted or visible again. */
  inFlight: number;
  invocations: number;
  failedInvocations: number;
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: SQSMessageAttributes;
  md5OfMessageAttributes: string | undefined;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt: number | undefined;
  receiptHandle: string | undefined;
}

/** A dead-lettered message as `aws sqs receive-message` on the DLQ would show it. */
export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
  sentTimestamp: number;
  deadLetteredAt: number;
  messageAttributes: SQSMessageAttributes;
}

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

/** SQS's MD5OfMessageAttributes: names sorted, each field length-prefixed (4 bytes, big-endian). */
export function md5OfMessageAttributes(attributes: SQSMessageAttributes): string {
  const parts: Buffer[] = [];
  const lengthPrefixed = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const name of Object.keys(attributes).sort()) {
    const a = attributes[name] as SQSMessageAttribute;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(a.dataType, 'utf8'));
    if (a.binaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(a.binaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(a.stringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(parts));
}

function attributesSize(attributes: SQSMessageAttributes | undefined): number {
  let size = 0;
  for (const [name, a] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(a.dataType);
    size +=
      a.binaryValue !== undefined
        ? Buffer.from(a.binaryValue, 'base64').length
        : Buffer.byteLength(a.stringValue ?? '');
  }
  return size;
}

/** The queue's URL (what EKB_QUEUE_URL holds for the functions; nothing listens there). */
export function localQueueUrl(name: string, region: string = LOCAL_REGION): string {
  return `http://sqs.${region}.localhost/${LOCAL_ACCOUNT_ID}/${name}`;
}

export class LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly dlqArn: string;

  readonly #options: LocalQueueOptions;
  readonly #now: () => number;
  readonly #maxReceiveCount: number;
  readonly #batchSize: number;
  readonly #maxConcurrency: number;
  readonly #region: string;
  readonly #messages = new Map<string, StoredMessage>();
  readonly #deadLetters: DeadLetter[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #idleWaiters = new Set<() => void>();
  readonly #stats = {
    sent: 0,
    received: 0,
    deleted: 0,
    deadLettered: 0,
    invocations: 0,
    failedInvocations: 0,
  };
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  #paused: boolean;

  constructor(options: LocalQueueOptions) {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(options.name)) {
      throw new RangeError(`queue name must be 1-80 letters, digits, - or _ (got ${options.name})`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    this.#batchSize = options.batchSize ?? 1;
    this.#maxConcurrency = options.maxConcurrency ?? 2;
    this.#region = options.region ?? LOCAL_REGION;
    this.#paused = options.consumer === undefined;
    this.name = options.name;
    this.url = localQueueUrl(options.name, this.#region);
    this.arn = `arn:aws:sqs:${this.#region}:${LOCAL_ACCOUNT_ID}:${options.name}`;
    this.dlqArn = `${this.arn}-dlq`;
  }

  // ---- producer side (what SQS's SendMessage / SendMessageBatch do) -------------------------------------------

  send(input: SendInput): { messageId: string; md5OfMessageBody: string } {
    if (this.#closed) throw new Error(`queue ${this.name} is closed`);
    const problem = this.#problem(input);
    if (problem) throw new RangeError(problem);
    const now = this.#now();
    const attributes = input.messageAttributes ?? {};
    const message: StoredMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5(input.body),
      messageAttributes: structuredClone(attributes),
      md5OfMessageAttributes:
        Object.keys(attributes).length > 0 ? md5OfMessageAttributes(attributes) : undefined,
      sentAt: now,
      visibleAt: now + (input.delaySeconds ?? 0) * 1000,
      receiveCount: 0,
      firstReceiveAt: undefined,
      receiptHandle: undefined,
    };
    this.#messages.set(message.messageId, message);
    this.#stats.sent += 1;
    this.#schedule();
    return { messageId: message.messageId, md5OfMessageBody: message.md5OfBody };
  }

  /** Like SendMessageBatch: at most 10 entries, unique ids; a bad entry fails alone, the others are sent. */
  sendBatch(entries: readonly SendBatchEntry[]): SendBatchResult {
    if (entries.length === 0 || entries.length > SQS_MAX_BATCH_ENTRIES) {
      throw new RangeError(`a batch holds 1 to ${SQS_MAX_BATCH_ENTRIES} entries (got ${entries.length})`);
    }
    const ids = new Set(entries.map((e) => e.id));
    if (ids.size !== entries.length) throw new RangeError('batch entry ids must be unique');
    const total = entries.reduce(
      (sum, e) => sum + Buffer.byteLength(e.body) + attributesSize(e.messageAttributes),
      0,
    );
    if (total > SQS_MAX_MESSAGE_BYTES) {
      throw new RangeError(
        `a batch's total size must be at most ${SQS_MAX_MESSAGE_BYTES} bytes (got ${total})`,
      );
    }
    const result: SendBatchResult = { successful: [], failed: [] };
    for (const entry of entries) {
      const problem = this.#problem(entry);
      if (problem) {
        result.failed.push({
          id: entry.id,
          code: 'InvalidParameterValue',
          message: problem,
          senderFault: true,
        });
        continue;
      }
      result.successful.push({ id: entry.id, ...this.send(entry) });
    }
    return result;
  }

  #problem(input: SendInput): string | undefined {
    if (typeof input.body !== 'string' || input.body.length === 0) return 'message body must not be empty';
    const size = Buffer.byteLength(input.body) + attributesSize(input.messageAttributes);
    if (size > SQS_MAX_MESSAGE_BYTES) {
      return `message must be at most ${SQS_MAX_MESSAGE_BYTES} bytes (got ${size})`;
    }
    const delay = input.delaySeconds ?? 0;
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) return 'delaySeconds must be 0..900';
    return undefined;
  }

  // ---- inspection -------------------------------------------------------------------------------------------

  get stats(): QueueStats {
    const now = this.#now();
    let inFlight = 0;
    for (const m of this.#messages.values())
      if (m.receiptHandle !== undefined && m.visibleAt > now) inFlight += 1;
    return { ...this.#stats, waiting: this.#messages.size - inFlight, inFlight };
  }

  deadLetters(): DeadLetter[] {
    return this.#deadLetters.map((d) => structuredClone(d));
  }

  /** Resolves when no message waits or is in flight and no invocation runs (the DLQ may hold some). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #isIdle(): boolean {
    return this.#messages.size === 0 && this.#running.size === 0;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  // ---- consumer side (the Lambda event source mapping) -------------------------------------------------------

  /** Stops starting invocations, waits for the running ones (up to `graceMs`), and drops every timer. */
  async close(graceMs = 10_000): Promise<void> {
    this.#closed = true;
    this.#paused = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  #schedule(): void {
    if (this.#paused) return;
    // A microtask, so a burst of sends fills one batch instead of one invocation per message.
    queueMicrotask(() => this.#pump());
  }

  #pump(): void {
    if (this.#paused) return;
    const now = this.#now();
    while (this.#running.size < this.#maxConcurrency) {
      const batch = this.#receive(now);
      if (batch.length === 0) break;
      this.#invoke(batch);
    }
    this.#armTimer(now);
    this.#notifyIdle();
  }

  /** Takes up to batchSize visible messages, oldest first; moves the exhausted ones to the DLQ. */
  #receive(now: number): StoredMessage[] {
    const batch: StoredMessage[] = [];
    for (const m of this.#messages.values()) {
      if (batch.length >= this.#batchSize) break;
      if (m.visibleAt > now) continue;
      if (m.receiveCount >= this.#maxReceiveCount) {
        this.#deadLetter(m, now);
        continue;
      }
      m.receiveCount += 1;
      m.firstReceiveAt ??= now;
      m.receiptHandle = `${randomBytes(48).toString('base64')}`;
      m.visibleAt = now + this.#options.visibilityTimeoutMs;
      this.#stats.received += 1;
      batch.push(m);
    }
    return batch;
  }

  #deadLetter(m: StoredMessage, now: number): void {
    this.#messages.delete(m.messageId);
    this.#deadLetters.push({
      messageId: m.messageId,
      body: m.body,
      receiveCount: m.receiveCount,
      sentTimestamp: m.sentAt,
      deadLetteredAt: now,
      messageAttributes: m.messageAttributes,
    });
    this.#stats.deadLettered += 1;
    this.#options.onEvent?.({ kind: 'dead_lettered', messageId: m.messageId, receiveCount: m.receiveCount });
  }

  #armTimer(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.#messages.values()) if (m.visibleAt > now && m.visibleAt < next) next = m.visibleAt;
    if (next === this.#timerAt && this.#timer) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      this.#pump();
    }, next - now);
  }

  #record(m: StoredMessage): SQSRecord {
    const record: SQSRecord = {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle as string,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'AIDALOCALSTACKCALLER',
        ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt ?? this.#now()),
      },
      messageAttributes: structuredClone(m.messageAttributes),
      md5OfBody: m.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.#region,
    };
    if (m.md5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = m.md5OfMessageAttributes;
    return record;
  }

  #invoke(batch: StoredMessage[]): void {
    const consumer = this.#options.consumer;
    if (!consumer) return;
    const handles = new Map(batch.map((m) => [m.messageId, m.receiptHandle]));
    const event: SQSEvent = { Records: batch.map((m) => this.#record(m)) };
    this.#stats.invocations += 1;
    const run = (async () => {
      const context = createLambdaContext({
        functionName: consumer.functionName,
        timeoutMs: consumer.timeoutMs,
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<{ timedOut: true }>((resolve) => {
        timer = setTimeout(() => resolve({ timedOut: true }), consumer.timeoutMs);
        timer.unref();
      });
      let failedIds: Set<string>;
      try {
        const outcome = await Promise.race([
          Promise.resolve(consumer.handler(event, context)).then((value) => ({ value })),
          timeout,
        ]);
        if ('timedOut' in outcome) {
          this.#failAll(batch, `${consumer.functionName} ran past its ${consumer.timeoutMs} ms timeout`);
          return;
        }
        failedIds = this.#failuresOf(outcome.value, batch);
      } catch (err) {
        this.#failAll(batch, err instanceof Error ? err.message : String(err));
        return;
      } finally {
        clearTimeout(timer);
      }
      const now = this.#now();
      for (const m of batch) {
        const current = this.#messages.get(m.messageId);
        // Deleting with a stale receipt handle (the message was received again meanwhile) does nothing in SQS.
        if (!current || current.receiptHandle !== handles.get(m.messageId)) continue;
        if (failedIds.has(m.messageId)) {
          this.#options.onEvent?.({
            kind: 'retry_scheduled',
            messageId: m.messageId,
            receiveCount: m.receiveCount,
            visibleInMs: Math.max(0, current.visibleAt - now),
          });
          continue;
        }
        this.#messages.delete(m.messageId);
        this.#stats.deleted += 1;
      }
    })();
    this.#running.add(run);
    void run.finally(() => {
      this.#running.delete(run);
      this.#pump();
    });
  }

  /** Reads a batch response; anything the poller would reject fails the whole batch. */
  #failuresOf(value: unknown, batch: StoredMessage[]): Set<string> {
    if (value === undefined || value === null) return new Set();
    const failures = (value as Partial<SQSBatchResponse>).batchItemFailures;
    if (failures === undefined || failures === null) return new Set();
    const inBatch = new Set(batch.map((m) => m.messageId));
    if (!Array.isArray(failures)) return inBatch;
    const ids = new Set<string>();
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      // The poller treats a missing or unknown identifier as a failure of the whole batch.
      if (typeof id !== 'string' || !inBatch.has(id)) return inBatch;
      ids.add(id);
    }
    return ids;
  }

  #failAll(batch: StoredMessage[], reason: string): void {
    this.#stats.failedInvocations += 1;
    this.#options.onEvent?.({ kind: 'invocation_failed', messageIds: batch.map((m) => m.messageId), reason });
  }
}
