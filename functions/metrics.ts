/**
 * CloudWatch metrics as Embedded Metric Format lines on stdout: Lambda's log agent turns each `_aws` JSON line into
 * metrics, with no API call, no extra latency and no IAM permission. The infra dashboard reads namespace EkbArchive.
 */
export const METRICS_NAMESPACE = 'EkbArchive';

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

export interface MetricValue {
  value: number;
  unit: MetricUnit;
}

export interface MetricsOptions {
  namespace?: string;
  /** Dimension name → value, e.g. { Function: 'copy' }. */
  dimensions: Record<string, string>;
  /** Defaults to stdout. */
  write?: (line: string) => void;
  now?: () => number;
}

/** One EMF document (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html). */
export function emfLine(metrics: Record<string, MetricValue>, options: MetricsOptions): string {
  const names = Object.keys(metrics);
  return JSON.stringify({
    _aws: {
      Timestamp: (options.now ?? Date.now)(),
      CloudWatchMetrics: [
        {
          Namespace: options.namespace ?? METRICS_NAMESPACE,
          Dimensions: [Object.keys(options.dimensions)],
          Metrics: names.map((name) => ({ Name: name, Unit: metrics[name]?.unit })),
        },
      ],
    },
    ...options.dimensions,
    ...Object.fromEntries(names.map((name) => [name, metrics[name]?.value])),
  });
}

export function emitMetrics(metrics: Record<string, MetricValue>, options: MetricsOptions): void {
  const line = emfLine(metrics, options);
  if (options.write) options.write(line);
  else process.stdout.write(`${line}\n`);
}
