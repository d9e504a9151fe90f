import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSqsBatchQueue,
  groupForSendMessageBatch,
  SQS_MAX_PAYLOAD_BYTES,
} from '../../../functions/aws/sqs-sender.js';
import { AppError } from '../../../functions/core/errors.js';
import type { BatchMessage } from '../../../functions/core/model/batch.js';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'eu-west-1' });
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/copy';

afterEach(() => {
  sqs.reset();
});

function message(i: number, keyPad = 0): BatchMessage {
  return {
    v: 1,
    jobId: 'job-1',
    batchId: `b${String(i + 1).padStart(5, '0')}`,
    refs: [{ id: `f${i}`, key: `k${i}${'x'.repeat(keyPad)}` }],
  };
}

const noSleep = async (): Promise<void> => {};

describe('createSqsBatchQueue', () => {
  it('sends 25 messages in calls of at most 10 entries, each body the message JSON', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const messages = Array.from({ length: 25 }, (_, i) => message(i));
    await createSqsBatchQueue(client, QUEUE, { sleep: noSleep }).sendBatches(messages);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 5]);
    expect(calls.every((c) => c.args[0].input.QueueUrl === QUEUE)).toBe(true);
    const bodies = calls
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .map((e) => JSON.parse(e.MessageBody ?? ''));
    expect(bodies).toEqual(messages);
    const ids = calls[0]?.args[0].input.Entries?.map((e) => e.Id);
    expect(new Set(ids).size).toBe(10);
  });

  it('keeps each call under 256 KiB in total when messages are large', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const messages = Array.from({ length: 6 }, (_, i) => message(i, 100_000));
    await createSqsBatchQueue(client, QUEUE).sendBatches(messages);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    for (const c of calls) {
      const total = (c.args[0].input.Entries ?? []).reduce(
        (n, e) => n + Buffer.byteLength(e.MessageBody ?? '', 'utf8'),
        0,
      );
      expect(total).toBeLessThanOrEqual(SQS_MAX_PAYLOAD_BYTES);
    }
    expect(calls.flatMap((c) => c.args[0].input.Entries ?? [])).toHaveLength(6);
    expect(calls.length).toBe(3);
  });

  it('sends Failed entries again, only those, until they pass', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Failed: [
          { Id: 'm1', Code: 'ThrottlingException', SenderFault: false },
          { Id: 'm3', Code: 'InternalError', SenderFault: false },
        ],
      })
      .resolves({});
    const delays: number[] = [];
    const messages = Array.from({ length: 4 }, (_, i) => message(i));
    await createSqsBatchQueue(client, QUEUE, {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
      baseDelayMs: 100,
    }).sendBatches(messages);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    const retried = (calls[1]?.args[0].input.Entries ?? []).map(
      (e) => JSON.parse(e.MessageBody ?? '').batchId,
    );
    expect(retried).toEqual(['b00002', 'b00004']);
    expect(delays).toEqual([50]);
  });

  it('throws naming how many failed after the attempts run out', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
      Failed: input.Entries.filter((e) => e.Id === 'm0').map((e) => ({
        Id: e.Id,
        Code: 'ThrottlingException',
        SenderFault: false,
      })),
    }));
    const queue = createSqsBatchQueue(client, QUEUE, { sleep: noSleep, maxAttempts: 3 });
    const err = await queue.sendBatches([message(0), message(1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('queue_send_failed');
    expect((err as AppError).retryable).toBe(true);
    expect((err as AppError).message).toContain('1 of 2 batch message(s) could not be queued');
    expect((err as AppError).message).toContain('b00001');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('does not resend an entry SQS refused as the sender’s fault', async () => {
    sqs.on(SendMessageBatchCommand).resolvesOnce({
      Failed: [{ Id: 'm0', Code: 'InvalidMessageContents', SenderFault: true }],
    });
    const err = await createSqsBatchQueue(client, QUEUE, { sleep: noSleep })
      .sendBatches([message(0), message(1)])
      .catch((e: unknown) => e);
    expect((err as AppError).message).toContain('b00001 (InvalidMessageContents)');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('wraps a failed call in a retryable AppError', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('socket hang up'));
    const err = await createSqsBatchQueue(client, QUEUE)
      .sendBatches([message(0)])
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe('queue_send_failed');
    expect((err as AppError).retryable).toBe(true);
  });

  it('refuses a message larger than SQS accepts without sending anything', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const err = await createSqsBatchQueue(client, QUEUE)
      .sendBatches([message(0), message(1, 300_000)])
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe('message_too_large');
    expect((err as AppError).message).toContain('b00002');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('stops with an aborted error when the signal has fired', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const ac = new AbortController();
    ac.abort();
    const err = await createSqsBatchQueue(client, QUEUE)
      .sendBatches([message(0)], ac.signal)
      .catch((e: unknown) => e);
    expect((err as AppError).code).toBe('aborted');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('sends nothing for no messages', async () => {
    await createSqsBatchQueue(client, QUEUE).sendBatches([]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });
});

describe('groupForSendMessageBatch', () => {
  it('starts a new group at 10 items or when the bytes would pass 256 KiB', () => {
    const sizes = [100_000, 100_000, 100_000, 10, 10];
    const groups = groupForSendMessageBatch(sizes.map((bytes) => ({ bytes })));
    expect(groups.map((g) => g.map((x) => x.bytes))).toEqual([
      [100_000, 100_000],
      [100_000, 10, 10],
    ]);
  });
});
