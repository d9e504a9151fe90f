/** The copy function's collaborators, built once per process from the parsed Config. */
import { createClientFromConfig } from '../aws/ekuaibao-client-factory.js';
import { createS3Client } from '../aws/s3-client.js';
import { createS3ReportStore } from '../aws/s3-report-store.js';
import { createS3Sink } from '../aws/s3-sink.js';
import type { Config } from '../config.js';
import type { RunBatchDeps } from '../core/copy/run-batch.js';
import { createUndiciDownloader } from '../core/copy/undici-downloader.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { createDownloadGuard, systemResolveHost } from '../core/security/download-guard.js';
import { createGuardedAgent } from '../core/security/guarded-agent.js';
import { createLogger } from '../logger.js';
import { emitMetrics, type MetricValue } from '../metrics.js';

export interface CopyHandlerDeps extends RunBatchDeps {
  /** The queue's receive limit (EKB_MAX_RECEIVE_COUNT, same as the redrive policy). */
  maxReceiveCount: number;
  /** Time kept back from the Lambda deadline to abort uploads and still write the report. */
  deadlineMarginMs: number;
  /** Where the per-invocation metrics go (CloudWatch EMF on stdout by default). */
  metrics: (values: Record<string, MetricValue>) => void;
}

export function depsFromConfig(config: Config, logger?: Logger): CopyHandlerDeps {
  const log = logger ?? createLogger({ level: config.logLevel, service: 'copy' });
  if (!config.bucket) throw new AppError('misconfigured', 'EKB_BUCKET is required for the copy function');
  const s3 = createS3Client();
  // Signed URLs come from 合思's answer: only allow-listed public hosts, checked before the GET and at connect time.
  const guard = createDownloadGuard({
    allowedHosts: config.allowedDownloadHosts,
    allowInsecure: config.allowInsecureDownloads,
    resolveHost: systemResolveHost,
  });
  return {
    resolver: createClientFromConfig(config, log),
    sink: createS3Sink({
      client: s3,
      bucket: config.bucket,
      partSizeBytes: config.partSizeBytes,
      queueSize: config.partConcurrency,
    }),
    downloader: createUndiciDownloader({ dispatcher: createGuardedAgent({ guard }) }),
    checkUrl: guard.checkUrl,
    reports: createS3ReportStore(s3, config.bucket),
    logger: log,
    reportPrefix: config.reportPrefix,
    defaultKeyTemplate: config.objectKeyTemplate,
    concurrency: config.copyConcurrency,
    maxReceiveCount: config.maxReceiveCount,
    deadlineMarginMs: config.deadlineMarginMs,
    metrics: (values) => emitMetrics(values, { dimensions: { Function: 'copy' } }),
  };
}
