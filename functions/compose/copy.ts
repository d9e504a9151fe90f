/** The copy engine's collaborators and the copy function's deps: 合思 client, S3 sink, guarded downloader. */

import type { RetentionSettings } from '../aws/s3-integrity.js';
import { createS3Sink } from '../aws/s3-sink.js';
import { type Config, lanesOf } from '../config.js';
import type { CopyDeps } from '../core/copy/copy-batch.js';
import type { PackageBatchRunner, RunBatchDeps } from '../core/copy/run-batch.js';
import { createUndiciDownloader } from '../core/copy/undici-downloader.js';
import { AppError, ErrorCode } from '../core/errors.js';
import { createPackageRunner } from '../core/packages/run-packages.js';
import type { Logger } from '../core/ports.js';
import { createDownloadGuard, systemResolveHost } from '../core/security/download-guard.js';
import { createGuardedAgent } from '../core/security/guarded-agent.js';
import { emitMetrics } from '../metrics.js';
import type { Composition, MetricsSink } from './composition.js';
import { ekuaibaoClient } from './ekuaibao.js';
import { reportStore, s3Client, textStore } from './storage.js';

/** Object Lock retention for archived files, when configured. */
function retentionOf(config: Config): { retention?: RetentionSettings } {
  if (config.objectLockMode === 'off') return {};
  const mode = config.objectLockMode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE';
  return { retention: { mode, years: config.objectLockYears } };
}

/**
 * The copy engine's collaborators: the resolvers (downloadurls; flowDetails/attachment and INVOICE/url for form
 * packages), the S3 sink, the guarded downloader, and the runner of form-package messages.
 */
export function copyEngine(c: Composition, bucket: string): CopyDeps & { packages: PackageBatchRunner } {
  const { config } = c;
  // Signed URLs come from 合思's answer: only allow-listed public hosts, checked before the GET and at connect time.
  const guard = c.once('guard', () =>
    createDownloadGuard({
      allowedHosts: config.allowedDownloadHosts,
      allowInsecure: config.allowInsecureDownloads,
      resolveHost: systemResolveHost,
    }),
  );
  const agent = c.once(
    'agent',
    () => createGuardedAgent({ guard }),
    (a) => a.close(),
  );
  const client = ekuaibaoClient(c);
  return {
    resolver: client,
    formFiles: client,
    packages: c.once('packages', () => createPackageRunner({ source: client })),
    sink: c.once(`sink:${bucket}`, () =>
      createS3Sink({
        client: s3Client(c),
        bucket,
        partSizeBytes: config.partSizeBytes,
        queueSize: config.partConcurrency,
        ...retentionOf(config),
        logger: c.logger,
      }),
    ),
    downloader: c.once('downloader', () => createUndiciDownloader({ dispatcher: agent })),
    checkUrl: guard.checkUrl,
    logger: c.logger,
  };
}

export function copyHandlerDeps(c: Composition, logger: Logger = c.logger) {
  if (!c.config.bucket)
    throw new AppError(ErrorCode.Misconfigured, 'EKB_BUCKET is required for the copy function');
  const deps: RunBatchDeps = {
    ...copyEngine(c, c.config.bucket),
    reports: reportStore(c, 'the copy function'),
    index: textStore(c, 'the copy function'),
    logger,
    reportPrefix: c.config.reportPrefix,
    defaultKeyTemplate: c.config.objectKeyTemplate,
    concurrency: c.config.copyConcurrency,
    lanes: lanesOf(c.config),
  };
  const metrics: MetricsSink =
    c.overrides.metrics ?? ((values) => emitMetrics(values, { dimensions: { Function: 'copy' } }));
  return {
    ...deps,
    maxReceiveCount: c.config.maxReceiveCount,
    deadlineMarginMs: c.config.deadlineMarginMs,
    metrics,
  };
}
