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

/** The copy-batch queue and its dead-letter queue: SSE, TLS only, 14-day retention so nothing expires unseen. */
export class CopyQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: CopyQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
