/**
 * An SQS queue and its Lambda event source mapping, in one process: messages wait until visible, a receive hides
 * them for the visibility timeout, the consumer gets real SQS event records, and what happens next follows the
 * rules of the Lambda SQS poller with ReportBatchItemFailures:
 * - the function answers `{batchItemFailures: [...]}`: the named messages stay (visible again when their
 *   visibility timeout ends), the rest are deleted; an empty or missing answer deletes them all;
 * - the function throws, runs past its timeout, or names an id that is not in the batch: the whole batch stays;
 * - a message received `maxReceiveCount` times and due once more goes to the dead-letter queue instead (SQS's
 *   redrive policy; the stack uses 5), where it can be inspected.
 *
 * Durable: with `database` naming a file, every message, its receive count, its visibility and the DLQ live in
 * that SQLite file (queue-database.ts) and every change is on disk when the call returns, so `kill -9` loses
 * nothing. Opened again, the queue delivers every message not deleted: those the dead process had handed to its
 * consumer at once (their receive counted, as SQS counts it), the others when their visibility timeout ends.
 * Several queues (by name) share one file; without `database` the queue lives in memory only.
 *
 * Stopping (close): running invocations are told to stop (their context's stop signal, which the handlers'
 * deadline middleware honours), and every message this process received and did not finish is handed back: visible
 * at once and its receive not counted, since it was our own shutdown, not the message, that cut the receive short.
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
import { IN_MEMORY, openQueueDatabase, type QueueDatabase, type QueueRecovery } from './queue-database.js';

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
  /**
   * The SQLite file holding the queue (created when missing; e.g. `.local/queue.db`), shared by every queue of
   * this process opened on it. Default: in memory, lost with the process.
   */
  database?: string;
  /**
   * Start delivering only when start() is called (default: at once, including messages recovered from the
   * database). Give it when the consumer's dependencies are built after the queue.
   */
  paused?: boolean;
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
  /**
   * When the consumer fails a message, it comes back after this many ms (by its receive count) instead of at the
   * end of its visibility timeout: what a consumer calling ChangeMessageVisibility does, and how Lambda spaces its
   * asynchronous retries (the fan-out queues). Default: the visibility timeout, as SQS.
   */
  retryDelayMs?: (receiveCount: number) => number;
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

/** A row of queue_messages (queue-database.ts). */
interface MessageRow {
  seq: number;
  message_id: string;
  body: string;
  md5_of_body: string;
  attributes: string;
  md5_of_attributes: string | null;
  sent_at: number;
  visible_at: number;
  receive_count: number;
  first_receive_at: number | null;
  receipt_handle: string | null;
  dead_lettered_at: number | null;
}

/** A message handed to the consumer: its row as received, with the receipt handle of this receive. */
interface Received {
  row: MessageRow;
  receiptHandle: string;
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

const COLUMNS = `seq, message_id, body, md5_of_body, attributes, md5_of_attributes, sent_at, visible_at, receive_count,
  first_receive_at, receipt_handle, dead_lettered_at`;

export class LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly dlqArn: string;
  /** What the file held for this queue when this process opened it (the restart's inheritance; zero when new). */
  readonly recovered: QueueRecovery;

  readonly #options: LocalQueueOptions;
  readonly #now: () => number;
  readonly #maxReceiveCount: number;
  readonly #batchSize: number;
  readonly #maxConcurrency: number;
  readonly #region: string;
  readonly #dlqName: string;
  readonly #database: QueueDatabase;
  readonly #sql: ReturnType<typeof statements>;
  /** Running invocations: their batch and the controller that tells them to stop. */
  readonly #running = new Map<Promise<void>, { batch: Received[]; stop: AbortController }>();
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
  /** Set once the database is let go: late-finishing invocations then leave their messages for the next open. */
  #detached = false;
  #lastCounts = { waiting: 0, inFlight: 0 };
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
    this.#paused = options.consumer === undefined || options.paused === true;
    this.name = options.name;
    this.#dlqName = `${options.name}-dlq`;
    this.url = localQueueUrl(options.name, this.#region);
    this.arn = `arn:aws:sqs:${this.#region}:${LOCAL_ACCOUNT_ID}:${options.name}`;
    this.dlqArn = `${this.arn}-dlq`;
    this.#database = openQueueDatabase(options.database ?? IN_MEMORY, this.#now());
    this.#database.attach(options.name);
    this.#sql = statements(this.#database);
    this.recovered = this.#database.recoveryOf(options.name);
    this.#schedule();
  }

  /** Starts delivering (a queue opened with `paused`, or one whose consumer was paused). */
  start(): void {
    if (this.#closed || this.#options.consumer === undefined) return;
    this.#paused = false;
    this.#schedule();
  }

  // ---- producer side (what SQS's SendMessage / SendMessageBatch do) -------------------------------------------

  send(input: SendInput): { messageId: string; md5OfMessageBody: string } {
    if (this.#closed) throw new Error(`queue ${this.name} is closed`);
    const problem = this.#problem(input);
    if (problem) throw new RangeError(problem);
    const sent = this.#insert(input);
    this.#schedule();
    return sent;
  }

  #insert(input: SendInput): { messageId: string; md5OfMessageBody: string } {
    const now = this.#now();
    const attributes = input.messageAttributes ?? {};
    const messageId = randomUUID();
    const md5OfBody = md5(input.body);
    this.#sql.insert.run(
      this.name,
      messageId,
      input.body,
      md5OfBody,
      JSON.stringify(attributes),
      Object.keys(attributes).length > 0 ? md5OfMessageAttributes(attributes) : null,
      now,
      now + (input.delaySeconds ?? 0) * 1000,
    );
    this.#stats.sent += 1;
    return { messageId, md5OfMessageBody: md5OfBody };
  }

  /**
   * Like SendMessageBatch: at most 10 entries, unique ids; a bad entry fails alone, the others are sent (in one
   * transaction: after a crash either all of the good entries are in the queue or none).
   */
  sendBatch(entries: readonly SendBatchEntry[]): SendBatchResult {
    if (this.#closed) throw new Error(`queue ${this.name} is closed`);
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
    this.#database.transaction(() => {
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
        result.successful.push({ id: entry.id, ...this.#insert(entry) });
      }
    });
    if (result.successful.length > 0) this.#schedule();
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

  /** Counters since this queue was opened; `waiting` and `inFlight` are what the queue holds now. */
  get stats(): QueueStats {
    if (!this.#detached) this.#refreshCounts();
    return { ...this.#stats, ...this.#lastCounts };
  }

  #refreshCounts(): void {
    const counts = this.#sql.counts.get(this.#now(), this.name) as { total: number; inFlight: number | null };
    const inFlight = counts.inFlight ?? 0;
    this.#lastCounts = { waiting: counts.total - inFlight, inFlight };
  }

  /** The DLQ's messages, oldest first (kept in the database like the queue's own). */
  deadLetters(): DeadLetter[] {
    if (this.#detached) return [];
    const rows = this.#sql.deadLetters.all(this.#dlqName) as unknown as MessageRow[];
    return rows.map((r) => ({
      messageId: r.message_id,
      body: r.body,
      receiveCount: r.receive_count,
      sentTimestamp: r.sent_at,
      deadLetteredAt: r.dead_lettered_at ?? r.sent_at,
      messageAttributes: JSON.parse(r.attributes) as SQSMessageAttributes,
    }));
  }

  /** Resolves when no message waits or is in flight and no invocation runs (the DLQ may hold some). */
  idle(): Promise<void> {
    if (this.#closed || this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #isIdle(): boolean {
    if (this.#running.size > 0) return false;
    return (this.#sql.count.get(this.name) as { n: number }).n === 0;
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.size === 0 || !this.#isIdle()) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  // ---- consumer side (the Lambda event source mapping) -------------------------------------------------------

  /**
   * Stops starting invocations, waits for the running ones (up to `graceMs`), drops every timer and lets go of
   * the database. A message whose invocation is still running after the grace is left for the next open.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#paused = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running.size > 0) {
      for (const { stop } of this.#running.values()) stop.abort(new Error(`queue ${this.name} is closing`));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running.keys()]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      // Still running past the grace: hand their messages back now; what they do later is ignored (detached).
      const now = this.#now();
      this.#database.transaction(() => {
        for (const { batch } of this.#running.values()) this.#handBack(batch, now);
      });
    }
    // The last counts stay readable after close (a status page asked during shutdown).
    this.#refreshCounts();
    this.#detached = true;
    this.#database.detach(this.name);
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
  #receive(now: number): Received[] {
    const batch: Received[] = [];
    const deadLettered: MessageRow[] = [];
    // A cursor, not a re-query: with a visibility timeout of 0 a message just received is still "due".
    let after = 0;
    this.#database.transaction(() => {
      while (batch.length < this.#batchSize) {
        const rows = this.#sql.due.all(
          this.name,
          now,
          after,
          this.#batchSize - batch.length,
        ) as unknown as MessageRow[];
        if (rows.length === 0) break;
        for (const row of rows) {
          after = row.seq;
          if (row.receive_count >= this.#maxReceiveCount) {
            this.#sql.deadLetter.run(this.#dlqName, now, now, row.seq);
            deadLettered.push(row);
            continue;
          }
          const receiptHandle = randomBytes(48).toString('base64');
          const visibleAt = now + this.#options.visibilityTimeoutMs;
          this.#sql.receive.run(now, receiptHandle, visibleAt, row.seq);
          batch.push({
            row: {
              ...row,
              receive_count: row.receive_count + 1,
              first_receive_at: row.first_receive_at ?? now,
              receipt_handle: receiptHandle,
              visible_at: visibleAt,
            },
            receiptHandle,
          });
        }
      }
    });
    for (const row of deadLettered) {
      this.#stats.deadLettered += 1;
      this.#options.onEvent?.({
        kind: 'dead_lettered',
        messageId: row.message_id,
        receiveCount: row.receive_count,
      });
    }
    this.#stats.received += batch.length;
    return batch;
  }

  #armTimer(now: number): void {
    const next =
      (this.#sql.nextVisible.get(this.name, now) as { next: number | null }).next ?? Number.POSITIVE_INFINITY;
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

  #record({ row, receiptHandle }: Received): SQSRecord {
    const record: SQSRecord = {
      messageId: row.message_id,
      receiptHandle,
      body: row.body,
      attributes: {
        ApproximateReceiveCount: String(row.receive_count),
        SentTimestamp: String(row.sent_at),
        SenderId: 'AIDALOCALSTACKCALLER',
        ApproximateFirstReceiveTimestamp: String(row.first_receive_at ?? this.#now()),
      },
      messageAttributes: JSON.parse(row.attributes) as SQSMessageAttributes,
      md5OfBody: row.md5_of_body,
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.#region,
    };
    if (row.md5_of_attributes !== null) record.md5OfMessageAttributes = row.md5_of_attributes;
    return record;
  }

  #invoke(batch: Received[]): void {
    const consumer = this.#options.consumer;
    if (!consumer) return;
    const event: SQSEvent = { Records: batch.map((m) => this.#record(m)) };
    this.#stats.invocations += 1;
    const stop = new AbortController();
    const run = (async () => {
      const context = createLambdaContext({
        functionName: consumer.functionName,
        timeoutMs: consumer.timeoutMs,
        stopSignal: stop.signal,
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
      this.#settle(batch, failedIds);
    })();
    this.#running.set(run, { batch, stop });
    void run.finally(() => {
      this.#running.delete(run);
      this.#pump();
    });
  }

  /** Deletes the messages that succeeded, and leaves the failed ones to come back when their visibility ends. */
  #settle(batch: Received[], failedIds: Set<string>): void {
    if (this.#detached) return;
    const now = this.#now();
    const retries: Array<{ messageId: string; receiveCount: number; visibleAt: number }> = [];
    this.#database.transaction(() => {
      for (const received of batch) {
        const { row, receiptHandle } = received;
        // Deleting with a stale receipt handle (the message was received again meanwhile) does nothing in SQS.
        if (failedIds.has(row.message_id)) {
          if (this.#closed) {
            this.#handBack([received], now);
            continue;
          }
          const kept = this.#sql.release.get(
            this.#retryVisibleAt(row.receive_count, now),
            row.message_id,
            receiptHandle,
          ) as { visible_at: number } | undefined;
          if (kept) {
            retries.push({
              messageId: row.message_id,
              receiveCount: row.receive_count,
              visibleAt: kept.visible_at,
            });
          }
          continue;
        }
        if (Number(this.#sql.delete.run(row.message_id, receiptHandle).changes) > 0) this.#stats.deleted += 1;
      }
    });
    for (const r of retries) {
      this.#options.onEvent?.({
        kind: 'retry_scheduled',
        messageId: r.messageId,
        receiveCount: r.receiveCount,
        visibleInMs: Math.max(0, r.visibleAt - now),
      });
    }
  }

  /** Reads a batch response; anything the poller would reject fails the whole batch. */
  #failuresOf(value: unknown, batch: Received[]): Set<string> {
    if (value === undefined || value === null) return new Set();
    const failures = (value as Partial<SQSBatchResponse>).batchItemFailures;
    if (failures === undefined || failures === null) return new Set();
    const inBatch = new Set(batch.map((m) => m.row.message_id));
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

  #failAll(batch: Received[], reason: string): void {
    this.#stats.failedInvocations += 1;
    if (!this.#detached) {
      const now = this.#now();
      this.#database.transaction(() => {
        if (this.#closed) {
          this.#handBack(batch, now);
          return;
        }
        for (const { row, receiptHandle } of batch) {
          this.#sql.release.get(this.#retryVisibleAt(row.receive_count, now), row.message_id, receiptHandle);
        }
      });
    }
    this.#options.onEvent?.({
      kind: 'invocation_failed',
      messageIds: batch.map((m) => m.row.message_id),
      reason,
    });
  }

  /** When a failed message comes back: null keeps the end of its visibility timeout. */
  #retryVisibleAt(receiveCount: number, now: number): number | null {
    const delay = this.#options.retryDelayMs?.(receiveCount);
    return delay === undefined ? null : now + Math.max(0, delay);
  }

  /** Messages our own shutdown interrupted: visible again at once, their receive not counted. */
  #handBack(batch: readonly Received[], now: number): void {
    for (const { row, receiptHandle } of batch) this.#sql.handBack.run(now, row.message_id, receiptHandle);
  }
}

function statements(database: QueueDatabase) {
  const db = database.db;
  return {
    insert: db.prepare(
      `INSERT INTO queue_messages (queue, message_id, body, md5_of_body, attributes, md5_of_attributes, sent_at,
         visible_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    due: db.prepare(
      `SELECT ${COLUMNS} FROM queue_messages WHERE queue = ? AND visible_at <= ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    receive: db.prepare(
      `UPDATE queue_messages SET receive_count = receive_count + 1, first_receive_at = COALESCE(first_receive_at, ?),
         receipt_handle = ?, visible_at = ?, in_flight = 1 WHERE seq = ?`,
    ),
    // Into the DLQ with its id and receive count, as SQS's redrive keeps them.
    deadLetter: db.prepare(
      `UPDATE queue_messages SET queue = ?, visible_at = ?, dead_lettered_at = ?, receipt_handle = NULL,
         in_flight = 0 WHERE seq = ?`,
    ),
    delete: db.prepare('DELETE FROM queue_messages WHERE message_id = ? AND receipt_handle = ?'),
    release: db.prepare(
      `UPDATE queue_messages SET in_flight = 0, visible_at = COALESCE(?1, visible_at)
         WHERE message_id = ?2 AND receipt_handle = ?3 RETURNING visible_at`,
    ),
    handBack: db.prepare(
      `UPDATE queue_messages SET in_flight = 0, receipt_handle = NULL, visible_at = ?,
         receive_count = MAX(receive_count - 1, 0) WHERE message_id = ? AND receipt_handle = ?`,
    ),
    nextVisible: db.prepare(
      'SELECT MIN(visible_at) AS next FROM queue_messages WHERE queue = ? AND visible_at > ?',
    ),
    counts: db.prepare(
      `SELECT COUNT(*) AS total, SUM(receipt_handle IS NOT NULL AND visible_at > ?) AS inFlight
         FROM queue_messages WHERE queue = ?`,
    ),
    count: db.prepare('SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ?'),
    deadLetters: db.prepare(
      `SELECT ${COLUMNS} FROM queue_messages WHERE queue = ? ORDER BY dead_lettered_at, seq`,
    ),
  };
}
