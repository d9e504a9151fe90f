import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MANIFESTS_PREFIX } from './storage.js';

/**
 * One message carries up to 100 refs (one downloadurls call), already minutes of streaming; one message per
 * invocation keeps the deadline arithmetic simple and a failure confined to one batch.
 */
export const COPY_BATCH_SIZE = 1;

export interface TriggersProps {
  bucket: IBucket;
  queue: IQueue;
  fanOut: IFunction;
  copy: IFunction;
  /** An EventBridge schedule expression, e.g. "rate(1 hour)", or undefined for no scheduled sync. */
  scheduleExpression: string | undefined;
  /** Most concurrent copy invocations the queue may drive (protects 合思 and the account's concurrency). */
  copyMaxConcurrency: number;
}

/**
 * What starts the functions: manifests/ uploads and the sync schedule start fan-out; the queue drives copy.
 * Fan-out runs asynchronously for both, so its failures (after Lambda's two retries) land in a queue of their own
 * rather than vanishing.
 */
export class Triggers extends Construct {
  readonly schedule: Rule | undefined;
  readonly fanOutFailures: Queue;

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);

    this.fanOutFailures = new Queue(this, 'FanOutFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.fanOutFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself a dead-letter target (fan-out's asynchronous on-failure destination).",
    });
    props.fanOut.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.fanOutFailures),
    });

    props.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(props.fanOut), {
      prefix: MANIFESTS_PREFIX,
    });
    // CDK applies bucket notifications through its own singleton custom-resource function, created at stack level.
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) {
        Validations.of(child).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason:
            "CDK's bucket-notification handler is a deploy-time custom resource whose role CDK defines; it only logs.",
        });
      }
    }

    this.schedule = props.scheduleExpression
      ? new Rule(this, 'SyncSchedule', {
          description:
            'ekb-archive scheduled sync: archive attachments of 合思 forms changed since the last run',
          schedule: Schedule.expression(props.scheduleExpression),
          targets: [new LambdaFunction(props.fanOut, { retryAttempts: 4, maxEventAge: Duration.hours(1) })],
        })
      : undefined;

    props.copy.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: COPY_BATCH_SIZE,
        // The worker reports the refs it could not finish; only that message is retried, not the whole batch.
        reportBatchItemFailures: true,
        maxConcurrency: props.copyMaxConcurrency,
      }),
    );
  }
}
