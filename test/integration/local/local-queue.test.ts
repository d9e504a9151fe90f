import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalQueue, md5OfMessageAttributes, type QueueEvent } from '../../../infra/local/local-queue.js';

describe('LocalQueue (SQS + Lambda event source mapping)', () => {
  const queues: LocalQueue[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close()));
  });

  function queue(
    options: Partial<ConstructorParameters<typeof LocalQueue>[0]> & { handler?: (e: SQSEvent) => unknown },
  ) {
    const { handler, ...rest } = options;
    const q = new LocalQueue({
      name: 'ekb-archive-copy',
      visibilityTimeoutMs: 40,
      ...(handler ? { consumer: { functionName: 'copy', timeoutMs: 5_000, handler } } : {}),
      ...rest,
    });
    queues.push(q);
    return q;
  }

  it('delivers real SQS records and deletes messages the function did not report', async () => {
    const records: SQSRecord[] = [];
    const q = queue({
      handler: async (event) => {
        records.push(...event.Records);
      },
    });
    const sent = q.send({
      body: '{"v":1}',
      messageAttributes: { jobId: { dataType: 'String', stringValue: 'job-1' } },
    });
    await q.idle();
    expect(records).toHaveLength(1);
    const r = records[0] as SQSRecord;
    expect(r.messageId).toBe(sent.messageId);
    expect(r.body).toBe('{"v":1}');
    expect(r.md5OfBody).toBe(createHash('md5').update('{"v":1}').digest('hex'));
    expect(r.eventSource).toBe('aws:sqs');
    expect(r.eventSourceARN).toBe(q.arn);
    expect(r.awsRegion).toBe('us-east-1');
    expect(r.receiptHandle.length).toBeGreaterThan(20);
    expect(r.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(r.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(r.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(r.attributes.SentTimestamp),
    );
    expect(r.messageAttributes.jobId?.stringValue).toBe('job-1');
    expect(r.md5OfMessageAttributes).toBe(md5OfMessageAttributes(r.messageAttributes));
    expect(q.stats).toMatchObject({ sent: 1, received: 1, deleted: 1, waiting: 0, inFlight: 0 });
  });

  it('computes MD5OfMessageAttributes the way SQS does', () => {
    // Reference value from the SQS algorithm (names sorted, 4-byte big-endian length prefixes, transport byte 1).
    const attrs = {
      b: { dataType: 'String', stringValue: 'x' },
      a: { dataType: 'Number', stringValue: '1' },
    };
    const enc = (s: string) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const expected = createHash('md5')
      .update(
        Buffer.concat([
          enc('a'),
          enc('Number'),
          Buffer.from([1]),
          enc('1'),
          enc('b'),
          enc('String'),
          Buffer.from([1]),
          enc('x'),
        ]),
      )
      .digest('hex');
    expect(md5OfMessageAttributes(attrs)).toBe(expected);
  });

  it('redelivers reported failures after the visibility timeout, then moves them to the DLQ after 5 receives', async () => {
    const counts: string[] = [];
    const events: QueueEvent[] = [];
    const q = queue({
      onEvent: (e) => events.push(e),
      handler: async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    const { messageId } = q.send({ body: 'always fails' });
    await q.idle();
    expect(counts).toEqual(['1', '2', '3', '4', '5']);
    const dead = q.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ messageId, body: 'always fails', receiveCount: 5 });
    expect(events.filter((e) => e.kind === 'retry_scheduled')).toHaveLength(5);
    expect(events.at(-1)).toEqual({ kind: 'dead_lettered', messageId, receiveCount: 5 });
    expect(q.stats).toMatchObject({ deadLettered: 1, deleted: 0, waiting: 0 });
  });

  it('retries the whole batch when the function throws, and only the named messages otherwise', async () => {
    let calls = 0;
    const delivered: string[][] = [];
    const q = queue({
      batchSize: 3,
      handler: async (event) => {
        calls += 1;
        delivered.push(event.Records.map((r) => r.body));
        if (calls === 1) throw new Error('crash');
        if (calls === 2) {
          const b = event.Records.find((r) => r.body === 'b') as SQSRecord;
          return { batchItemFailures: [{ itemIdentifier: b.messageId }] };
        }
        return { batchItemFailures: [] };
      },
    });
    q.sendBatch([
      { id: '1', body: 'a' },
      { id: '2', body: 'b' },
      { id: '3', body: 'c' },
    ]);
    await q.idle();
    expect(delivered).toEqual([['a', 'b', 'c'], ['a', 'b', 'c'], ['b']]);
    expect(q.stats).toMatchObject({ failedInvocations: 1, deleted: 3, deadLettered: 0 });
  });

  it('treats an unknown itemIdentifier as a failure of the whole batch', async () => {
    let calls = 0;
    const q = queue({
      handler: async () => {
        calls += 1;
        return calls === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] } : undefined;
      },
    });
    q.send({ body: 'x' });
    await q.idle();
    expect(calls).toBe(2);
    expect(q.stats.deleted).toBe(1);
  });

  it('keeps at most maxConcurrency invocations running', async () => {
    let running = 0;
    let peak = 0;
    const q = queue({
      maxConcurrency: 2,
      handler: async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running -= 1;
      },
    });
    for (let i = 0; i < 6; i += 1) q.send({ body: `m${i}` });
    await q.idle();
    expect(peak).toBe(2);
    expect(q.stats.deleted).toBe(6);
  });

  it('rejects what SQS rejects: empty bodies, oversize messages, bad batches', () => {
    const q = queue({});
    expect(() => q.send({ body: '' })).toThrow(/must not be empty/);
    expect(() => q.send({ body: 'x'.repeat(256 * 1024 + 1) })).toThrow(/at most 262144 bytes/);
    expect(() => q.sendBatch([])).toThrow(/1 to 10/);
    expect(() => q.sendBatch(Array.from({ length: 11 }, (_, i) => ({ id: String(i), body: 'x' })))).toThrow(
      /1 to 10/,
    );
    expect(() =>
      q.sendBatch([
        { id: 'a', body: 'x' },
        { id: 'a', body: 'y' },
      ]),
    ).toThrow(/unique/);
    const result = q.sendBatch([
      { id: 'ok', body: 'fine' },
      { id: 'bad', body: '' },
    ]);
    expect(result.successful.map((s) => s.id)).toEqual(['ok']);
    expect(result.failed).toEqual([
      expect.objectContaining({ id: 'bad', code: 'InvalidParameterValue', senderFault: true }),
    ]);
  });

  it('treats a function that runs past its timeout as a failed batch', async () => {
    let calls = 0;
    const q = new LocalQueue({
      name: 'slow',
      visibilityTimeoutMs: 30,
      maxReceiveCount: 2,
      consumer: {
        functionName: 'copy',
        timeoutMs: 20,
        handler: () => {
          calls += 1;
          return new Promise((r) => setTimeout(r, 60));
        },
      },
    });
    queues.push(q);
    q.send({ body: 'x' });
    await q.idle();
    expect(calls).toBe(2);
    expect(q.deadLetters()).toHaveLength(1);
    expect(q.stats.failedInvocations).toBe(2);
  });
});

describe('LocalQueue on a database file (several queues, one file)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ekb-queue-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps each named queue and its DLQ apart, and gives a queue opened again what it held', async () => {
    const database = join(dir, 'queues.db');
    const manifests = new LocalQueue({ name: 'manifests', database, visibilityTimeoutMs: 1_000 });
    const work = new LocalQueue({ name: 'work', database, visibilityTimeoutMs: 1_000 });
    manifests.send({ body: 'm1' });
    work.sendBatch([
      { id: 'a', body: 'w1' },
      { id: 'b', body: 'w2' },
    ]);
    expect(manifests.stats.waiting).toBe(1);
    expect(work.stats.waiting).toBe(2);
    // One queue per name per process: a second poller would hand the same message to two consumers.
    expect(() => new LocalQueue({ name: 'work', database, visibilityTimeoutMs: 1_000 })).toThrow(
      /already open/,
    );
    await work.close();

    const seen: string[] = [];
    const reopened = new LocalQueue({
      name: 'work',
      database,
      visibilityTimeoutMs: 20,
      maxReceiveCount: 1,
      consumer: {
        functionName: 'work',
        timeoutMs: 5_000,
        handler: async (event) => {
          seen.push(...event.Records.map((r) => r.body));
          return {
            batchItemFailures: event.Records.filter((r) => r.body === 'w2').map((r) => ({
              itemIdentifier: r.messageId,
            })),
          };
        },
      },
    });
    expect(reopened.recovered).toEqual({ messages: 0, interrupted: 0 });
    await reopened.idle();
    expect(seen).toEqual(['w1', 'w2']);
    expect(reopened.deadLetters().map((d) => d.body)).toEqual(['w2']);
    expect(manifests.deadLetters()).toEqual([]);
    expect(manifests.stats.waiting).toBe(1);
    await reopened.close();
    await manifests.close();
  });

  it('delivers nothing while paused, then everything once started', async () => {
    const seen: string[] = [];
    const q = new LocalQueue({
      name: 'paused',
      database: join(dir, 'paused.db'),
      visibilityTimeoutMs: 1_000,
      paused: true,
      consumer: {
        functionName: 'work',
        timeoutMs: 5_000,
        handler: async (event) => {
          seen.push(...event.Records.map((r) => r.body));
        },
      },
    });
    q.send({ body: 'x' });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);
    q.start();
    await q.idle();
    expect(seen).toEqual(['x']);
    await q.close();
  });

  it('brings a failed message back after retryDelayMs, not after the visibility timeout', async () => {
    const receives: number[] = [];
    const q = new LocalQueue({
      name: 'retried',
      database: join(dir, 'retried.db'),
      // A failed try would otherwise wait a minute.
      visibilityTimeoutMs: 60_000,
      maxReceiveCount: 3,
      retryDelayMs: (receiveCount) => receiveCount * 10,
      consumer: {
        functionName: 'fan-out',
        timeoutMs: 5_000,
        handler: async (event) => {
          receives.push(Number(event.Records[0]?.attributes.ApproximateReceiveCount));
          throw new Error('not yet');
        },
      },
    });
    const started = Date.now();
    q.send({ body: 'event' });
    await q.idle();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(receives).toEqual([1, 2, 3]);
    expect(q.deadLetters().map((d) => [d.body, d.receiveCount])).toEqual([['event', 3]]);
    await q.close();
  });

  it('on close, tells running invocations to stop and hands back what is unfinished, its receive not counted', async () => {
    const database = join(dir, 'closing.db');
    let stopSeen = false;
    const q = new LocalQueue({
      name: 'closing',
      database,
      visibilityTimeoutMs: 60_000,
      consumer: {
        functionName: 'copy',
        timeoutMs: 60_000,
        handler: (event, context) => {
          const body = event.Records[0]?.body;
          const stop = (context as { stopSignal?: AbortSignal }).stopSignal;
          // 'stops' ends when told to (and reports a failure); 'hangs' ignores the signal.
          return new Promise((resolve) => {
            stop?.addEventListener('abort', () => {
              stopSeen = true;
              if (body === 'stops') {
                resolve({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] });
              }
            });
          });
        },
      },
      maxConcurrency: 2,
    });
    q.send({ body: 'stops' });
    q.send({ body: 'hangs' });
    while (q.stats.inFlight < 2) await new Promise((r) => setTimeout(r, 5));
    await q.close(100);
    expect(stopSeen).toBe(true);

    const receives: Array<[string, string]> = [];
    const reopened = new LocalQueue({
      name: 'closing',
      database,
      visibilityTimeoutMs: 60_000,
      consumer: {
        functionName: 'copy',
        timeoutMs: 5_000,
        handler: async (event) => {
          for (const r of event.Records) receives.push([r.body, r.attributes.ApproximateReceiveCount]);
        },
      },
    });
    // Both back at once (not after the minute of visibility), as first receives.
    expect(reopened.recovered).toEqual({ messages: 2, interrupted: 0 });
    await reopened.idle();
    expect(receives.sort()).toEqual([
      ['hangs', '1'],
      ['stops', '1'],
    ]);
    await reopened.close();
  });
});
