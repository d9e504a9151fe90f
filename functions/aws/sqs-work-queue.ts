/** The WorkQueue port on SQS: one SendMessage per message (the verify queue sends one next part at a time). */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AppError, ErrorCode } from '../core/errors.js';
import type { WorkQueue } from '../core/ports.js';

export function createSqsWorkQueue<T>(client: Pick<SQSClient, 'send'>, queueUrl: string): WorkQueue<T> {
  return {
    async send(message, signal) {
      try {
        await client.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
          signal ? { abortSignal: signal } : {},
        );
      } catch (err) {
        throw new AppError(ErrorCode.QueueSendFailed, 'could not send to the queue', {
          retryable: true,
          status: 503,
          cause: err,
        });
      }
    },
  };
}

/** On a client built from the SDK's standard settings (region, credentials). */
export function sqsWorkQueue<T>(queueUrl: string): WorkQueue<T> {
  return createSqsWorkQueue<T>(new SQSClient({}), queueUrl);
}
