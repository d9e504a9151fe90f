import { Duration, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Namespace and names of the embedded-metric-format metrics the functions emit. */
export const METRICS_NAMESPACE = 'EkbArchive';
export const APP_METRICS = [
  'FilesCopied',
  'FilesSkipped',
  'FilesFailed',
  'BytesCopied',
  'UpstreamCalls',
  'UpstreamLatency',
  'TokenFetches',
  'ReResolves',
  'MalformedMessages',
  'ObjectsVerified',
  'ObjectsDiffering',
] as const;
export type AppMetric = (typeof APP_METRICS)[number];

export interface ObservabilityProps {
  functions: Record<'resolve' | 'jobsApi' | 'fanOut' | 'copy', IFunction>;
  queue: Queue;
  deadLetterQueue: Queue;
  fanOutFailures: Queue;
  api: HttpApi;
  /** Subscribed to the alarm topic when given. */
  alarmEmail: string | undefined;
  /** The verify function and its DLQ: alarms when a run finds a difference, or a part keeps failing. */
  verify?: { fn: IFunction; deadLetterQueue: Queue };
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms on the things that need a person (a message in a DLQ, a copy invocation that crashed, API 5xx, throttles)
 * and one dashboard with those plus the app's own metrics. Alarms notify one SNS topic.
 */
export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'ekb-archive alarms',
      enforceSSL: true,
    });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry only alarm names and states, and CloudWatch cannot publish to a topic under the AWS-managed SNS key.',
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.addAlarms(props, new SnsAction(this.alarmTopic));
    this.dashboard = this.buildDashboard(props);
  }

  /** One alarm per thing that needs a person; every alarm notifies the topic. */
  private addAlarms(props: ObservabilityProps, action: SnsAction): void {
    const { functions: fns } = props;
    const alarm = (id: string, description: string, metric: IMetric): Alarm => {
      const a = new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
      return a;
    };

    alarm(
      'DeadLetterQueueNotEmpty',
      'Copy batches failed 5 times and sit in the DLQ: read their job reports, then redrive (README runbook).',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
    );
    alarm(
      'FanOutFailuresNotEmpty',
      'A manifest upload or scheduled sync failed 3 times; the event is in the fan-out failure queue.',
      props.fanOutFailures.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
    );
    alarm(
      'CopyErrors',
      'The copy function crashed or timed out (per-file failures are in the job reports, not here).',
      fns.copy.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
    );
    alarm(
      'Api5xx',
      'The HTTP API answered 5xx: see the resolve and jobs-api logs by requestId.',
      props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
    );
    if (props.verify) {
      alarm(
        'VerifyFoundDifferences',
        'A verify run found archived objects changed, missing or unrecorded: GET /verify-jobs/{runId} lists them.',
        new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'ObjectsDiffering',
          dimensionsMap: { Function: 'verify' },
          period: FIVE_MINUTES,
          statistic: 'Sum',
        }),
      );
      alarm(
        'VerifyThrottles',
        'The verify function was throttled (account concurrency).',
        props.verify.fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
      );
      alarm(
        'VerifyDeadLetterQueueNotEmpty',
        'A verify part failed 3 times and sits in the verify DLQ: its run stays running until it is redriven.',
        props.verify.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      );
    }
    for (const [name, fn] of Object.entries(fns)) {
      const title = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(
        `${title}Throttles`,
        `The ${name} function was throttled (account concurrency or the queue's maximum concurrency).`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
      );
    }
  }

  /** The alarms' status, the app's own metrics, the queues, the functions and the API, on one dashboard. */
  private buildDashboard(props: ObservabilityProps): Dashboard {
    const { functions: fns } = props;
    const app = (metric: AppMetric, stat: 'Sum' | 'Average' = 'Sum'): IMetric =>
      // SEARCH matches the metric whatever dimensions the emitter attaches; SUM/AVG folds them into one line.
      new MathExpression({
        expression: `${stat === 'Sum' ? 'SUM' : 'AVG'}(SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metric}"', '${stat}', 300))`,
        label: stat === 'Sum' ? metric : `${metric} (${stat})`,
        period: FIVE_MINUTES,
        usingMetrics: {},
      });
    const perFunction = (
      label: string,
      pick: (fn: IFunction) => IMetric,
    ): { title: string; left: IMetric[] } => ({
      title: label,
      left: Object.values(fns).map(pick),
    });

    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# ekb-archive\nFiles archived from 合思 into S3. Runbook (redrive the DLQ, re-run a job, rotate credentials): see the README.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Files',
        left: [app('FilesCopied'), app('FilesSkipped'), app('FilesFailed'), app('MalformedMessages')],
        width: 8,
      }),
      new GraphWidget({
        title: 'Bytes copied; objects verified and differing',
        left: [app('BytesCopied')],
        right: [app('ObjectsVerified'), app('ObjectsDiffering')],
        width: 8,
      }),
      new GraphWidget({
        title: '合思 calls, token fetches, re-resolves',
        left: [app('UpstreamCalls'), app('TokenFetches'), app('ReResolves')],
        right: [app('UpstreamLatency', 'Average')],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Copy queue',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ label: 'visible' }),
          props.queue.metricApproximateNumberOfMessagesNotVisible({ label: 'in flight' }),
        ],
        right: [props.queue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Dead letters',
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'copy DLQ' }),
          props.fanOutFailures.metricApproximateNumberOfMessagesVisible({ label: 'fan-out failures' }),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        ...perFunction('Invocations', (fn) => fn.metricInvocations({ period: FIVE_MINUTES })),
        width: 6,
      }),
      new GraphWidget({
        ...perFunction('Errors', (fn) => fn.metricErrors({ period: FIVE_MINUTES })),
        width: 6,
      }),
      new GraphWidget({
        ...perFunction('Throttles', (fn) => fn.metricThrottles({ period: FIVE_MINUTES })),
        width: 6,
      }),
      new GraphWidget({
        ...perFunction('Duration p99', (fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' })),
        width: 6,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [
          props.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' }),
          props.api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum' }),
          props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency p99',
        left: [props.api.metricLatency({ period: FIVE_MINUTES, statistic: 'p99' })],
        width: 12,
      }),
    );
    return dashboard;
  }
}
