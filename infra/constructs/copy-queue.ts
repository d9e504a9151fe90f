import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * AWS's guidance for SQS → Lambda: visibility timeout at least six times the function timeout, so a message is not
 * handed to a second worker while the first is still retrying throttled invocations.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface CopyQueueProps {
  /** Timeout of the function that consumes the queue. */
  consumerTimeout: Duration;
  /** Receives before a batch goes to the DLQ; the copy function is told the same number (its last attempt is final). */
  maxReceiveCount: number;
}

/**
 * A work queue and its dead-letter queue, made in `scope` under the ids `Queue` and `DeadLetterQueue`: SSE, TLS
 * only, 14-day retention so nothing expires unseen, a visibility timeout of VISIBILITY_TIMEOUT_FACTOR × the
 * consumer's timeout. The copy queue and the verify queue are both this.
 */
export function queueWithDeadLetter(
  scope: Construct,
  props: CopyQueueProps,
): { queue: Queue; deadLetterQueue: Queue } {
  const deadLetterQueue = new Queue(scope, 'DeadLetterQueue', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new Queue(scope, 'Queue', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}

/** The copy-batch queue and its dead-letter queue (queueWithDeadLetter). */
export class CopyQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: CopyQueueProps) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = queueWithDeadLetter(this, props));
  }
}
